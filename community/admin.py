from django.contrib import admin

from community.models import Event, Rsvp, Story


class RsvpInline(admin.TabularInline):
    model = Rsvp
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("title", "cohort", "starts_at", "capacity", "status")
    list_filter = ("status",)
    raw_id_fields = ("cohort", "organiser")
    inlines = (RsvpInline,)


@admin.register(Story)
class StoryAdmin(admin.ModelAdmin):
    list_display = ("title", "author", "cohort", "status", "published_at")
    list_filter = ("status",)
    raw_id_fields = ("author", "cohort", "quote", "reviewed_by")
