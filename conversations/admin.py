from django.contrib import admin

from conversations.models import Announcement, Message, Notification, Thread


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """Staff read messages only when one is reported (the list shows reported ones first)."""

    list_display = ("pk", "author", "created_at", "edited_at", "reported_at")
    list_filter = (("reported_at", admin.EmptyFieldListFilter),)
    ordering = ("reported_at", "-pk")
    readonly_fields = ("thread", "author", "body", "created_at", "edited_at", "reported_at")
    fields = (*readonly_fields, "report_reason")
    raw_id_fields = ("thread",)

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Thread)
class ThreadAdmin(admin.ModelAdmin):
    list_display = ("pk", "request", "mentorship", "created_at")
    raw_id_fields = ("request", "mentorship")


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "text", "created_at", "read_at")
    list_filter = ("kind",)
    raw_id_fields = ("user", "thread")


@admin.register(Announcement)
class AnnouncementAdmin(admin.ModelAdmin):
    list_display = ("subject", "cohort", "audience", "created_at", "delivered_at", "recipients")
    raw_id_fields = ("cohort", "author")
