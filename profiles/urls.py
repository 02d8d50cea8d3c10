from django.urls import path

from profiles import photo_views, privacy_views, views

app_name = "profiles"

urlpatterns = [
    path("welcome/", views.welcome, name="welcome"),
    path("profile/", views.my_profile, name="me"),
    path("profile/edit/", views.edit_profile, name="edit"),
    path("profile/goals/", views.goals, name="goals"),
    path("profile/goals/<int:pk>/edit/", views.edit_goal, name="edit-goal"),
    path("profile/goals/<int:pk>/delete/", views.delete_goal, name="delete-goal"),
    path("profile/offer/", views.offer, name="offer"),
    path("profile/availability/", views.availability, name="availability"),
    path("skills/search/", views.skill_search, name="skill-search"),
    path("people/", views.people, name="people"),
    path("people/<int:pk>/", views.person, name="person"),
    path("people/<int:pk>/photo/", photo_views.photo, name="photo"),
    path("profile/photo/", photo_views.edit_photo, name="edit-photo"),
    path("dev/outbox/", views.outbox, name="outbox"),
    path("dev/outbox/<int:pk>/", views.outbox_email, name="outbox-email"),
    # The signed-in person's own data: no pk, so nobody reaches anyone else's.
    path("profile/my-data/", privacy_views.my_data, name="my-data"),
    path("profile/delete/", privacy_views.delete_account, name="delete-account"),
]
