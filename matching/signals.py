"""Mentor-side changes invalidate the mentor features every process keeps (loader.py)."""

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from matching.loader import bump_version
from matching.models import Mentorship
from profiles.models import Expertise, MentorOffer, Profile, Skill, User


def _changed(sender, update_fields=None, **kwargs) -> None:
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # signing in changes nothing the engine reads
    # Now, for this process's next read; and again after commit, in case another process
    # rebuilt from the data as it was before the commit in between.
    bump_version()
    transaction.on_commit(bump_version)


def connect() -> None:
    for model in (Profile, MentorOffer, Expertise, Mentorship, Skill, User):
        post_save.connect(_changed, sender=model, dispatch_uid=f"matching-{model.__name__}-save")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"matching-{model.__name__}-del")
    m2m_changed.connect(_changed, sender=Mentorship.goals.through, dispatch_uid="matching-goals")
