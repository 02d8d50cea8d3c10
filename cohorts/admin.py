from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from audit import services as audit
from audit.models import AuditEntry
from cohorts.models import Cohort, Enrollment, MatchRun, PairRule, Placement


class EnrollmentInline(admin.TabularInline):
    model = Enrollment
    raw_id_fields = ("user",)
    extra = 0


@admin.register(Cohort)
class CohortAdmin(admin.ModelAdmin):
    """Who runs a cohort is set here; each admin added or removed, and each cohort deleted, is
    written to the audit log in the admin's own transaction."""

    list_display = ("name", "slug", "status", "starts_on", "ends_on")
    list_filter = ("status",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("admins",)
    inlines = (EnrollmentInline,)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        before = set(form.initial.get("admins") or []) if change else set()
        after = set(form.cleaned_data["admins"])
        for action, people in (
            (AuditEntry.Action.ADD_ADMIN, after - before),
            (AuditEntry.Action.REMOVE_ADMIN, before - after),
        ):
            for person in sorted(people, key=lambda p: p.pk):
                audit.record(
                    action=action,
                    by=request.user,
                    cohort=form.instance,
                    target=audit.person_label(person),
                    detail={"user": person.pk},
                )

    def delete_model(self, request: HttpRequest, obj: Cohort) -> None:
        with transaction.atomic():
            self._record_deletions(request, [obj])
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Cohort]) -> None:
        with transaction.atomic():
            self._record_deletions(request, list(queryset))
            super().delete_queryset(request, queryset)

    def _record_deletions(self, request: HttpRequest, cohorts: list[Cohort]) -> None:
        for cohort in cohorts:
            audit.record(
                action=AuditEntry.Action.DELETE_COHORT,
                by=request.user,
                cohort=cohort,
                target=f"{cohort.name} ({cohort.slug})",
                detail={"cohort": cohort.pk, "people": cohort.enrollments.count()},
            )


@admin.register(MatchRun)
class MatchRunAdmin(admin.ModelAdmin):
    list_display = ("cohort", "status", "progress", "created_at", "published_at")
    list_filter = ("status",)


admin.site.register(PairRule)
admin.site.register(Placement)
