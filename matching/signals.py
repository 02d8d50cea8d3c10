"""Mentor-side profile edits invalidate the mentor features every process keeps (loader.py).

Pairs starting or ending (matching/actions.py), joining a cohort and imports bump the version
themselves, once, on commit; saving a User (signing in, say) changes nothing matching reads."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from matching.loader import bump_version
from profiles.models import Expertise, MentorOffer, Profile, Skill


def _changed(sender, update_fields=None, **kwargs) -> None:
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # signing in changes nothing the engine reads
    # Now, for this process's next read; and again after commit, in case another process
    # rebuilt from the data as it was before the commit in between.
    bump_version()
    transaction.on_commit(bump_version)


def connect() -> None:
    for model in (Profile, MentorOffer, Expertise, Skill):
        post_save.connect(_changed, sender=model, dispatch_uid=f"matching-{model.__name__}-save")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"matching-{model.__name__}-del")
