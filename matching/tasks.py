from celery import shared_task
from django.db import IntegrityError, transaction

from matching import notify, services
from matching.models import Introduction, Mentorship


@shared_task(acks_late=True)
def introduce(mentorship_id: int) -> bool:
    """Send the pair's intro email, once. The Introduction row (one per mentorship, a database
    constraint) is written in the same transaction as the emails: a second run, a retry or a
    redelivered task finds it and sends nothing; a failed run leaves neither."""
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
        notify.introduction(mentorship)
    return True


@shared_task
def remind_and_expire_requests() -> tuple[int, int]:
    return services.remind_and_expire()
