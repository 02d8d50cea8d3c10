from django.urls import path

from meetings import views

app_name = "meetings"

urlpatterns = [
    path("pairs/<int:pk>/", views.pair_page, name="pair"),
    path("pairs/<int:pk>/schedule/", views.schedule, name="schedule"),
    path("pairs/<int:pk>/actions/", views.add_action, name="add-action"),
    path(
        "pairs/<int:pk>/actions/<int:action_pk>/toggle/", views.toggle_action, name="toggle-action"
    ),
    path(
        "pairs/<int:pk>/goals/<int:goal_pk>/milestones/", views.add_milestone, name="add-milestone"
    ),
    path(
        "pairs/<int:pk>/milestones/<int:milestone_pk>/status/",
        views.milestone_status,
        name="milestone-status",
    ),
    path("pairs/<int:pk>/close/", views.close, name="close"),
    path("pairs/<int:pk>/reflect/", views.reflect, name="reflect"),
    path("pairs/<int:pk>/thank-you/", views.thank_you_visibility, name="thank-you"),
    path("pairs/<int:pk>/meetings/<int:meeting_pk>/move/", views.reschedule, name="reschedule"),
    path("pairs/<int:pk>/meetings/<int:meeting_pk>/cancel/", views.cancel, name="cancel"),
    path("pairs/<int:pk>/meetings/<int:meeting_pk>/meeting.ics", views.meeting_ics, name="ics"),
    path("pairs/<int:pk>/meetings/<int:meeting_pk>/agenda/", views.add_agenda, name="add-agenda"),
    path("pairs/<int:pk>/meetings/<int:meeting_pk>/notes/", views.add_note, name="add-note"),
    path("pairs/<int:pk>/meetings/<int:meeting_pk>/check-in/", views.check_in, name="check-in"),
    path("impact/", views.impact, name="impact"),
    path("calendar/", views.calendar, name="calendar"),
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar-feed"),
    path("email-preferences/", views.preferences, name="preferences"),
    path("email/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
