from django.contrib import admin

from matching.models import Block, Introduction, MentorRequest, Mentorship


@admin.register(MentorRequest)
class MentorRequestAdmin(admin.ModelAdmin):
    list_display = ("mentee", "mentor", "status", "created_at", "answered_at")
    list_filter = ("status",)
    search_fields = ("mentee__email", "mentee__name", "mentor__email", "mentor__name")
    raw_id_fields = ("mentee", "mentor")
    filter_horizontal = ("goals",)
    date_hierarchy = "created_at"


@admin.register(Mentorship)
class MentorshipAdmin(admin.ModelAdmin):
    list_display = ("mentor", "mentee", "status", "source", "started_at")
    list_filter = ("status", "source")
    search_fields = ("mentee__email", "mentee__name", "mentor__email", "mentor__name")
    raw_id_fields = ("mentee", "mentor", "request")
    filter_horizontal = ("goals",)


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin):
    list_display = ("mentor", "mentee", "created_at")
    search_fields = ("mentee__email", "mentor__email")
    raw_id_fields = ("mentee", "mentor", "request")


@admin.register(Introduction)
class IntroductionAdmin(admin.ModelAdmin):
    list_display = ("mentorship", "sent_at")
    raw_id_fields = ("mentorship",)
