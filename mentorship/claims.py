"""Rows that must be handled once each (reminders, batched emails): claimed a batch at a time
with SELECT ... FOR UPDATE SKIP LOCKED, each handled inside the claim's transaction, so what a row
sends (its outbox rows) commits with the row's new state. Two workers take different rows; a
worker that dies rolls back, and the next pass claims the row again."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.db.models import QuerySet


def drain(due: Callable[[], QuerySet], handle: Callable[[object], int], *, batch: int) -> int:
    """Handle every due row; `due()` gives them locked (skip_locked) and ordered. `handle` must
    move its row out of `due`. Returns the sum of what `handle` returned."""
    done = 0
    while True:
        with transaction.atomic():
            rows = list(due()[:batch])
            if not rows:
                return done
            for row in rows:
                done += handle(row)
