from django.urls import path

from community import views

app_name = "community"

urlpatterns = [
    path("events/", views.events, name="events"),
    path("events/new/", views.new_event, name="event-new"),
    path("events/upcoming/", views.upcoming_panel, name="upcoming"),
    path("events/<int:pk>/", views.event, name="event"),
    path("events/<int:pk>/rsvp/", views.rsvp, name="rsvp"),
    path("events/<int:pk>/leave/", views.leave, name="leave"),
    path("events/<int:pk>/move/", views.move, name="move"),
    path("events/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("events/<int:pk>/attendance/", views.attendance, name="attendance"),
    path("events/<int:pk>/event.ics", views.ics, name="ics"),
    path("stories/", views.stories, name="stories"),
    path("stories/new/", views.write, name="story-new"),
    path("stories/mine/", views.my_stories, name="my-stories"),
    path("stories/review/", views.review_queue, name="review-queue"),
    path("stories/<int:pk>/", views.story, name="story"),
    path("stories/<int:pk>/edit/", views.write, name="story-edit"),
    path("stories/<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("stories/<int:pk>/review/", views.review, name="review"),
    path("stories/<int:pk>/consent/", views.consent, name="consent"),
    path("circles/", views.circles, name="circles"),
    path("circles/new/", views.new_circle, name="circle-new"),
    path("circles/<int:pk>/", views.circle, name="circle"),
    path("circles/<int:pk>/join/", views.join_circle, name="circle-join"),
    path("circles/<int:pk>/leave/", views.leave_circle, name="circle-leave"),
    path("circles/<int:pk>/members/<int:user_pk>/", views.approve, name="circle-approve"),
    path("circles/<int:pk>/sessions/", views.new_session, name="session-new"),
    path("circles/<int:pk>/actions/", views.circle_action, name="circle-action"),
    path(
        "circles/<int:pk>/actions/<int:action_pk>/toggle/",
        views.toggle_circle_action,
        name="circle-action-toggle",
    ),
    path(
        "circles/<int:pk>/sessions/<int:meeting_pk>/cancel/",
        views.cancel_session,
        name="session-cancel",
    ),
    path(
        "circles/<int:pk>/sessions/<int:meeting_pk>/answer/",
        views.answer_session,
        name="session-answer",
    ),
    path(
        "circles/<int:pk>/sessions/<int:meeting_pk>/agenda/",
        views.session_agenda,
        name="session-agenda",
    ),
    path(
        "circles/<int:pk>/sessions/<int:meeting_pk>/notes/",
        views.session_note,
        name="session-note",
    ),
    path(
        "circles/<int:pk>/sessions/<int:meeting_pk>/check-in/",
        views.session_check_in,
        name="session-check-in",
    ),
]
