from django.urls import path

from conversations import views

app_name = "conversations"

urlpatterns = [
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/unread/", views.unread, name="unread"),
    path("notifications/read-all/", views.mark_all_read, name="mark-all-read"),
    path("notifications/<int:pk>/", views.open_notification, name="open"),
    path("notifications/<int:pk>/read/", views.mark_read, name="mark-read"),
    path("threads/<int:pk>/messages/", views.post, name="post"),
    path("threads/<int:pk>/messages/<int:message_pk>/edit/", views.edit, name="edit"),
    path("threads/<int:pk>/messages/<int:message_pk>/report/", views.report, name="report"),
    path("announcements/<int:pk>/", views.announcement, name="announcement"),
]
