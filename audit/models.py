"""What staff and cohort admins did: who, when, to what. Written only by `audit.services.record`,
inside the transaction of the action it describes, and never changed afterwards."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEntry(models.Model):
    class Action(models.TextChoices):
        IMPORT = "import", "Imported people"
        INVITE = "invite", "Invited people"
        RESEND = "resend", "Resent an invitation"
        PUBLISH = "publish", "Started publishing a run"
        LOCK = "lock", "Locked a pair"
        UNLOCK = "unlock", "Unlocked a pair"
        REMOVE_PAIR = "remove_pair", "Removed a proposed pair"
        SWAP = "swap", "Swapped two mentors"
        END_PAIR = "end_pair", "Ended a pair"
        ADD_ADMIN = "add_admin", "Added a cohort admin"
        REMOVE_ADMIN = "remove_admin", "Removed a cohort admin"
        DELETE_COHORT = "delete_cohort", "Deleted a cohort"
        ROLE_CHANGE = "role_change", "Changed someone's role"
        DELETE_ACCOUNT = "delete_account", "Deleted an account"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # The labels keep who and what readable after the rows they name are gone.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=300)
    action = models.CharField(max_length=20, choices=Action)
    cohort = models.ForeignKey(
        "cohorts.Cohort", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cohort_label = models.CharField(max_length=120, blank=True)
    target_label = models.CharField(max_length=300, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("-created_at", "-pk")
        verbose_name_plural = "audit entries"
        indexes: ClassVar = [models.Index(fields=["action", "-created_at"], name="audit_action")]

    def __str__(self) -> str:
        return f"{self.actor_label}: {self.get_action_display()} ({self.created_at:%Y-%m-%d %H:%M})"
