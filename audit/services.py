"""The one way to write the audit log. Call it inside the transaction of the action itself, so
the entry exists exactly when the action does."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from audit.models import AuditEntry

if TYPE_CHECKING:
    from cohorts.models import Cohort
    from profiles.models import User

SYSTEM = "system (a command or task)"


def person_label(user: User) -> str:
    """A person as the log shows them: the name and address they had at the time."""
    return f"{user.name} <{user.email}>" if user.name else user.email


def record(
    *,
    action: AuditEntry.Action | str,
    by: User | None,
    cohort: Cohort | None = None,
    target: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Log one action: `by` did `action` in `cohort` to `target` (a label, kept as written),
    with `detail` for the specifics. `by` is None for commands and tasks."""
    actor = by if by is not None and by.is_authenticated else None
    return AuditEntry.objects.create(
        actor=actor,
        actor_label=person_label(actor) if actor else SYSTEM,
        action=AuditEntry.Action(action),
        cohort=cohort,
        cohort_label=cohort.name if cohort else "",
        target_label=target[:300],
        detail=detail or {},
    )
