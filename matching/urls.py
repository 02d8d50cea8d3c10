from django.urls import path

from matching import views

app_name = "matching"

urlpatterns = [
    path("mentors/", views.find, name="find"),
    path("mentors/<int:pk>/", views.mentor, name="mentor"),
    path("mentors/<int:pk>/request/", views.new_request, name="new-request"),
    path("requests/", views.requests, name="requests"),
    path("requests/<int:pk>/", views.request_detail, name="request"),
    path("requests/<int:pk>/<slug:action>/", views.request_action, name="request-action"),
    path("mentorships/", views.mentorships, name="mentorships"),
    path("mentorships/<int:pk>/", views.mentorship, name="mentorship"),
]
