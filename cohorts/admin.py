from django.contrib import admin

from cohorts.models import Cohort, Enrollment, MatchRun, PairRule, Placement


class EnrollmentInline(admin.TabularInline):
    model = Enrollment
    raw_id_fields = ("user",)
    extra = 0


@admin.register(Cohort)
class CohortAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "status", "starts_on", "ends_on")
    list_filter = ("status",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("admins",)
    inlines = (EnrollmentInline,)


@admin.register(MatchRun)
class MatchRunAdmin(admin.ModelAdmin):
    list_display = ("cohort", "status", "progress", "created_at", "published_at")
    list_filter = ("status",)


admin.site.register(PairRule)
admin.site.register(Placement)
