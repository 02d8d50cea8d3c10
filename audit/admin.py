from django.contrib import admin
from django.http import HttpRequest
from django.urls import URLPattern

from audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The log, for every member of site staff to read and nobody to change: it has no add or
    delete pages at all, and its change page only shows."""

    list_display = ("created_at", "actor_label", "action", "cohort_label", "target_label")
    list_filter = ("action", "created_at")
    search_fields = ("actor_label", "cohort_label", "target_label")
    date_hierarchy = "created_at"
    fields = (
        "created_at",
        "actor",
        "actor_label",
        "action",
        "cohort",
        "cohort_label",
        "target_label",
        "detail",
    )
    readonly_fields = fields
    actions = None

    def get_urls(self) -> list[URLPattern]:
        gone = {f"{self.opts.app_label}_{self.opts.model_name}_{v}" for v in ("add", "delete")}
        return [url for url in super().get_urls() if url.name not in gone]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False
