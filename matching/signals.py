"""Mentor-side profile edits invalidate the mentor features every process keeps (loader.py).

Pairs starting or ending (matching/actions.py), joining a cohort and imports bump the version
themselves, once, on commit; saving a User (signing in, say) changes nothing matching reads, nor
does saving the profile of someone who is not and was not a mentor (a mentee's first visit to the
dashboard makes their profile: every web process would rebuild its features for nothing)."""

from django.db import transaction
from django.db.models.signals import post_delete, post_init, post_save

from matching.loader import bump_version
from profiles.models import Expertise, MentorOffer, Profile, Skill


def _remember_role(sender, instance, **kwargs) -> None:
    instance._was_mentor = instance.is_mentor


def _changed(sender, update_fields=None, instance=None, **kwargs) -> None:
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # signing in changes nothing the engine reads
    if sender is Profile and not (instance.is_mentor or getattr(instance, "_was_mentor", True)):
        return  # not a mentor before or after: no mentor features change
    if sender is Profile:
        instance._was_mentor = instance.is_mentor
    # Now, for this process's next read; and again after commit, in case another process
    # rebuilt from the data as it was before the commit in between.
    bump_version()
    transaction.on_commit(bump_version)


def connect() -> None:
    post_init.connect(_remember_role, sender=Profile, dispatch_uid="matching-Profile-init")
    for model in (Profile, MentorOffer, Expertise, Skill):
        post_save.connect(_changed, sender=model, dispatch_uid=f"matching-{model.__name__}-save")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"matching-{model.__name__}-del")
