from collections.abc import Callable

from celery import shared_task
from django.db import IntegrityError, transaction

from matching import notify, services
from matching.models import Introduction, Mentorship


@shared_task(acks_late=True)
def introduce(mentorship_id: int) -> bool:
    return introduce_once(mentorship_id)


def introduce_once(mentorship_id: int, program: Callable[[Mentorship], dict] | None = None) -> bool:
    """Send the pair's intro email, once. The Introduction row (one per mentorship, a database
    constraint) is written in the same transaction as the emails: a second run, a retry or a
    redelivered task finds it and sends nothing; a failed run leaves neither. `program` gives
    what a cohort adds to the email (its name, the reasons, sign-in links)."""
    with transaction.atomic():
        mentorship = (
            Mentorship.objects.select_related("mentor__profile", "mentee__profile")
            .filter(pk=mentorship_id)
            .first()
        )
        if mentorship is None:
            return False
        try:
            with transaction.atomic():
                Introduction.objects.create(mentorship=mentorship)
        except IntegrityError:
            return False
        if mentorship.status != Mentorship.Status.ACTIVE:
            return False  # ended before its introduction went out
        notify.introduction(mentorship, **(program(mentorship) if program else {}))
    return True


@shared_task
def remind_and_expire_requests() -> tuple[int, int]:
    return services.remind_and_expire()


@shared_task(acks_late=True)
def introduce_many(mentorship_ids: list[int]) -> int:
    """Intro emails for a chunk of new pairs; each pair is introduced once (see `introduce`)."""
    return sum(introduce(pk) for pk in mentorship_ids)
