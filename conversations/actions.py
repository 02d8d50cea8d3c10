"""Every change of a conversation, a feed or an announcement, and the only way to make it.

Messages: `post_message`, `edit_message` (within ten minutes, the earlier text kept) and
`report_message` check `read_only_reason`, the one rule of who may write where. Notifications:
`notify` and `notify_many`, called by the other apps inside their own transactions, so a line in
the feed exists exactly when the change that caused it committed. Emails of unread messages are
batched per thread (`send_message_emails`, a beat task): at most one per thread per
EMAIL_EVERY, none for what the person has read. Announcements go out through
`deliver_announcement`, a receipt row per person, so each person gets one, however often it runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone

from conversations.models import (
    MESSAGE_MAX,
    Announcement,
    Message,
    MessageRevision,
    Notification,
    Participant,
    Receipt,
    Thread,
)
from mentorship import claims
from profiles.models import User

logger = logging.getLogger(__name__)

EMAIL_EVERY = timedelta(minutes=15)
EMAIL_BATCH = 100
ANNOUNCE_CHUNK = 200
NOTIFICATION_TEXT_MAX = 300


class ConversationError(Exception):
    """A rule said no; the message is for the person who asked."""


def first_email_after() -> timedelta:
    """How long unread messages wait before their email: a burst goes out as one, and what the
    person reads in the app meanwhile is never emailed."""
    return timedelta(seconds=getattr(settings, "MESSAGE_EMAIL_DELAY_SECONDS", 120))


# Threads.


def _pair_of(subject) -> tuple[int, int]:
    """(mentee id, mentor id) of a request or a mentorship."""
    return subject.mentee_id, subject.mentor_id


def thread_for(*, request=None, mentorship=None, circle=None) -> Thread:
    """The one thread of a request, a pair or a circle, made on first use. A pair that grew from
    a request carries on the request's thread, so the conversation before the answer stays with
    the pair. A circle's participants follow its membership."""
    if circle is not None:
        return _circle_thread(circle)
    if (request is None) == (mentorship is None):
        raise ValueError("Give a request, a mentorship or a circle.")
    for _attempt in range(2):
        try:
            with transaction.atomic():
                return _find_or_make(request=request, mentorship=mentorship)
        except IntegrityError:  # made at the same moment by another request: read theirs
            continue
    return _find_or_make(request=request, mentorship=mentorship)


def _circle_thread(circle) -> Thread:
    try:
        with transaction.atomic():
            thread, _ = Thread.objects.get_or_create(circle=circle)
    except IntegrityError:  # made at the same moment: read that one
        thread = Thread.objects.get(circle=circle)
    Participant.objects.bulk_create(
        [Participant(thread=thread, user_id=pk) for pk in circle.people_ids()],
        ignore_conflicts=True,
    )
    return thread


def _find_or_make(*, request, mentorship) -> Thread:
    if request is not None:
        thread = Thread.objects.filter(request=request).first()
        if thread is None:
            pair = apps.get_model("matching", "Mentorship").objects.filter(request=request).first()
            if pair is not None:
                return _find_or_make(request=None, mentorship=pair)
            thread = Thread.objects.create(request=request)
            _join(thread, request)
        return thread
    thread = Thread.objects.filter(mentorship=mentorship).first()
    if thread is None and mentorship.request_id:
        thread = Thread.objects.filter(request_id=mentorship.request_id).first()
        if thread is not None:
            thread.mentorship = mentorship
            thread.save(update_fields=["mentorship"])
    if thread is None:
        thread = Thread.objects.create(mentorship=mentorship, request_id=mentorship.request_id)
        _join(thread, mentorship)
    return thread


def carry_thread(*, request_id: int, mentorship_id: int) -> None:
    """An accepted request's thread becomes its pair's (called in the acceptance's transaction)."""
    Thread.objects.filter(request_id=request_id, mentorship__isnull=True).update(
        mentorship_id=mentorship_id
    )


def _join(thread: Thread, subject) -> None:
    Participant.objects.bulk_create(
        [Participant(thread=thread, user_id=pk) for pk in _pair_of(subject)],
        ignore_conflicts=True,
    )


def read_only_reason(*, thread: Thread, user: User) -> str | None:
    """Why this person cannot write in this thread now, or None when they can. The one rule:
    only its two people write (a circle's: its facilitator and active members, while it is
    active); a closed pair's thread is a read-only record; a request withdrawn,
    expired or reported takes no more messages (declined ones do: a kind word after a no); and
    once either has reported the other, neither writes to the other again."""
    if thread.circle_id:
        circle = thread.circle
        if user.pk not in circle.people_ids():
            return "Only the circle's facilitator and members can write in it."
        if circle.status != circle.Status.ACTIVE:
            return "This circle is closed: its conversation is kept, read-only."
        return None
    subject = thread.subject
    mentee_id, mentor_id = _pair_of(subject)
    if user.pk not in (mentee_id, mentor_id):
        return "Only the two people in this conversation can write in it."
    pair = thread.mentorship
    if pair is not None:
        if pair.status != pair.Status.ACTIVE:
            return "This mentorship has ended: its conversation is kept, read-only."
    else:
        request = thread.request
        closed = (request.Status.WITHDRAWN, request.Status.EXPIRED, request.Status.REPORTED)
        if request.status in closed:
            status = request.get_status_display().lower()
            return f"This request is {status}: its conversation is closed."
    block = apps.get_model("matching", "Block")
    if block.objects.filter(mentor_id=mentor_id, mentee_id=mentee_id).exists():
        return "This conversation was reported: no more messages can be sent in it."
    return None


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ConversationError("Write a message before sending it.")
    if len(body) > MESSAGE_MAX:
        raise ConversationError(
            f"Keep a message under {MESSAGE_MAX:,} characters (this one has {len(body):,})."
        )
    if "\x00" in body:
        raise ConversationError("The message contains a NUL character: write it again as text.")
    return body


def thread_url(thread: Thread) -> str:
    """Where a thread is read: its circle's page, its pair's, or its request's."""
    if thread.circle_id:
        return reverse("community:circle", args=[thread.circle_id]) + "#conversation"
    if thread.mentorship_id:
        return reverse("meetings:pair", args=[thread.mentorship_id]) + "#conversation"
    return reverse("matching:request", args=[thread.request_id]) + "#conversation"


def post_message(*, thread: Thread, author: User, body: str) -> Message:
    """Write to the other person: they get one unread line in their feed for the thread (its
    count grows with each message until they read it) and, if they do not read it in the app
    first, one email for the burst."""
    body = _clean_body(body)
    with transaction.atomic():
        # The thread row is locked: messages of one thread are numbered and notified in turn.
        thread = (
            Thread.objects.select_for_update(of=("self",))
            .select_related("request", "mentorship", "circle")
            .get(pk=thread.pk)
        )
        reason = read_only_reason(thread=thread, user=author)
        if reason:
            raise ConversationError(reason)
        message = Message.objects.create(thread=thread, author=author, body=body)
        now = message.created_at
        Participant.objects.filter(thread=thread, user=author).update(
            read_up_to=message.pk, read_at=now
        )
        url = thread_url(thread)
        others = Participant.objects.filter(thread=thread).exclude(user=author)
        if thread.circle_id:  # those who left the circle hear no more of it
            others = others.filter(user_id__in=thread.circle.people_ids())
        for other in others:
            _tell_of_message(other, author=author, url=url, now=now)
    return message


def _tell_of_message(other: Participant, *, author: User, url: str, now: datetime) -> None:
    line = Notification.objects.unread().filter(user_id=other.user_id, thread_id=other.thread_id)
    existing = line.first()
    if existing is None:
        Notification.objects.create(
            user_id=other.user_id,
            kind=Notification.Kind.MESSAGE,
            thread_id=other.thread_id,
            text=f"New message from {author.name}"[:NOTIFICATION_TEXT_MAX],
            url=url,
            created_at=now,
        )
    else:
        count = existing.count + 1
        line.update(
            count=count,
            text=f"{count} new messages from {author.name}"[:NOTIFICATION_TEXT_MAX],
            created_at=now,
        )
    if other.email_due_at is None:
        due = now + first_email_after()
        if other.emailed_at is not None:
            due = max(due, other.emailed_at + EMAIL_EVERY)
        Participant.objects.filter(pk=other.pk, email_due_at__isnull=True).update(email_due_at=due)


def edit_message(*, message: Message, by: User, body: str) -> Message:
    """Change one's own message within ten minutes of sending it. The earlier text is kept and
    shown to both: an edit is never silent."""
    body = _clean_body(body)
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(of=("self",))
            .select_related("thread__request", "thread__mentorship", "thread__circle")
            .get(pk=message.pk)
        )
        if message.author_id != by.pk:
            raise ConversationError("You can only edit your own messages.")
        if not message.editable_by(by):
            raise ConversationError("A message can be edited for ten minutes after it is sent.")
        reason = read_only_reason(thread=message.thread, user=by)
        if reason:
            raise ConversationError(reason)
        if body == message.body:
            return message
        MessageRevision.objects.create(message=message, body=message.body)
        message.body = body
        message.edited_at = timezone.now()
        message.save(update_fields=["body", "edited_at"])
    return message


def report_message(*, message: Message, by: User, reason: str = "") -> Message:
    """The other person's message was abusive: staff hear of it, and the two can no longer write
    to each other (nor the mentee ask the mentor again: the same Block a reported request makes)."""
    if "\x00" in reason:
        raise ConversationError("The reason contains a NUL character: write it again as text.")
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(of=("self",))
            .select_related("thread__request", "thread__mentorship", "thread__circle", "author")
            .get(pk=message.pk)
        )
        thread = message.thread
        people = thread.circle.people_ids() if thread.circle_id else _pair_of(thread.subject)
        if by.pk not in people or message.author_id == by.pk:
            raise ConversationError("You can report only the other person's messages.")
        if message.reported_at is None:
            message.reported_at = timezone.now()
            message.report_reason = reason.strip()[:2000]
            message.save(update_fields=["reported_at", "report_reason"])
        if not thread.circle_id:  # in a circle, staff act on the report; two people block
            mentee_id, mentor_id = people
            apps.get_model("matching", "Block").objects.get_or_create(
                mentor_id=mentor_id,
                mentee_id=mentee_id,
                defaults={"request_id": thread.request_id, "reason": reason.strip()[:2000]},
            )
        for member in User.objects.filter(is_staff=True, is_active=True).order_by("pk"):
            _email(
                "reported",
                member,
                {
                    "message": message,
                    "by": by,
                    "reason": reason.strip(),
                    "admin_url": settings.SITE_URL
                    + reverse("admin:conversations_message_change", args=[message.pk]),
                },
            )
    return message


def mark_thread_read(*, thread: Thread, user: User) -> None:
    """The person has the thread in front of them: everything in it is read (their receipt moves
    on, the feed's line for it is read, and no email is sent for it)."""
    last = Message.objects.filter(thread=thread).aggregate(last=Max("pk"))["last"] or 0
    now = timezone.now()
    Participant.objects.filter(thread=thread, user=user, read_up_to__lt=last).update(
        read_up_to=last, read_at=now
    )
    Notification.objects.unread().filter(user=user, thread=thread).update(read_at=now)


# Notifications.


@dataclass(frozen=True)
class Note:
    """One line for one person's feed, for `notify_many`."""

    user_id: int
    kind: str
    text: str
    url: str = ""


def notify(*, user: User, kind: str, text: str, url: str = "") -> Notification:
    """A line in this person's feed, written in the caller's transaction."""
    return Notification.objects.create(
        user=user, kind=kind, text=text[:NOTIFICATION_TEXT_MAX], url=url
    )


def notify_many(notes: Iterable[Note]) -> int:
    """Many lines at once (a cohort's announcement, a published cohort)."""
    now = timezone.now()
    rows = [
        Notification(
            user_id=n.user_id,
            kind=n.kind,
            text=n.text[:NOTIFICATION_TEXT_MAX],
            url=n.url,
            created_at=now,
        )
        for n in notes
    ]
    Notification.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def mark_read(*, user: User, notification_id: int) -> Notification:
    """One line read (following it does this too). A message line leaves its thread as it is:
    the thread's page reads it, and shows what was new there."""
    item = Notification.objects.get(pk=notification_id, user=user)
    if item.read_at is None:
        Notification.objects.filter(pk=item.pk, read_at__isnull=True).update(read_at=timezone.now())
        item.refresh_from_db(fields=["read_at"])
    return item


def mark_all_read(*, user: User) -> int:
    """Every unread line read. Threads are left as they are: their messages stay unread in the
    thread until opened, but no longer count in the badge."""
    return Notification.objects.unread().filter(user=user).update(read_at=timezone.now())


def unread_count(user: User) -> int:
    """The badge: a count over the partial index of unread lines (notification_unread_idx)."""
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


# Emails.


def _email(template: str, to: User, context: dict, *, kind: str | None = None) -> bool:
    """An email of this app through the outbox; with `kind`, one the person can switch off. The
    preferences and the one-click unsubscribe are the meetings app's, shared by every optional
    email (hence the import at call time: meetings calls this app, not the other way)."""
    from meetings.services import send_email

    return send_email(f"conversations/{template}", to, context, kind=kind)


def send_message_emails(now: datetime | None = None) -> int:
    """Email each person whose batched email is due the messages they have not read nor been
    emailed, one email per thread; returns how many went out. The participant row is claimed
    (SKIP LOCKED) and updated in the transaction that writes the outbox row, so two workers or two
    beats never send it twice, and a worker that dies sends it on the next pass."""
    now = now or timezone.now()

    def due():
        return (
            Participant.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(email_due_at__lte=now)
            .select_related("user", "thread__request", "thread__mentorship", "thread__circle")
            .order_by("email_due_at", "pk")
        )

    return claims.drain(due, _email_unread, batch=EMAIL_BATCH)


def _email_unread(member: Participant) -> int:
    unread = list(
        Message.objects.filter(
            thread_id=member.thread_id,
            pk__gt=max(member.read_up_to, member.emailed_up_to),
            reported_at__isnull=True,
        )
        .exclude(author_id=member.user_id)
        .select_related("author")
        .order_by("pk")
    )
    member.email_due_at = None
    fields = ["email_due_at"]
    sent = False
    if unread and member.user.is_active:
        from meetings.models import EmailPreference  # the kinds a person can switch off

        authors = sorted({m.author.name for m in unread})
        sent = _email(
            "messages",
            member.user,
            {
                "messages": unread[-10:],
                "more": max(len(unread) - 10, 0),
                "count": len(unread),
                "authors": " and ".join(authors),
                "url": settings.SITE_URL + thread_url(member.thread),
            },
            kind=EmailPreference.Kind.MESSAGES,
        )
    if sent:
        member.emailed_up_to = unread[-1].pk
        member.emailed_at = timezone.now()
        fields += ["emailed_up_to", "emailed_at"]
    member.save(update_fields=fields)
    return int(sent)


# Announcements.


def recipients_of(announcement: Announcement) -> list[int]:
    """The people an announcement is for: those who joined its cohort, in its audience's role."""
    enrollment = apps.get_model("cohorts", "Enrollment")
    roles = {
        Announcement.Audience.ALL: None,
        Announcement.Audience.MENTEES: ("mentee", "both"),
        Announcement.Audience.MENTORS: ("mentor", "both"),
    }[announcement.audience]
    rows = enrollment.objects.filter(
        cohort_id=announcement.cohort_id,
        status=enrollment.Status.JOINED,
        user__isnull=False,
        user__is_active=True,
    )
    if roles:
        rows = rows.filter(role__in=roles)
    return sorted(set(rows.values_list("user_id", flat=True)))


def post_announcement(*, cohort, by: User, audience: str, subject: str, body: str) -> Announcement:
    """A cohort admin writes to the cohort (the caller checks they admin it). It is stored now and
    delivered by a worker, a receipt per person; the sweeper finishes what a broker or a worker
    dropped."""
    subject, body = subject.strip(), body.strip()
    if not subject or not body:
        raise ConversationError("Write a subject and a message.")
    if "\x00" in subject + body:
        raise ConversationError("The text contains a NUL character: write it again as text.")
    with transaction.atomic():
        announcement = Announcement.objects.create(
            cohort=cohort, author=by, audience=audience, subject=subject, body=body
        )
        transaction.on_commit(lambda: _queue_delivery(announcement.pk))
    return announcement


def _queue_delivery(announcement_id: int) -> None:
    from conversations.tasks import deliver_announcement

    try:
        deliver_announcement.delay(announcement_id)
    except Exception as error:  # the broker is away: the sweeper delivers it
        logger.warning("announcement %s left to the sweeper: %r", announcement_id, error)


def deliver_announcement(announcement_id: int) -> int:
    """Give the announcement to everyone it is for who has not had it, a chunk at a time: in one
    transaction per chunk, their receipts, feed lines and emails. Returns how many got it now."""
    announcement = Announcement.objects.select_related("cohort").filter(pk=announcement_id).first()
    if announcement is None or announcement.delivered_at is not None:
        return 0
    people = recipients_of(announcement)
    url = reverse("conversations:announcement", args=[announcement.pk])
    given = 0
    for start in range(0, len(people), ANNOUNCE_CHUNK):
        chunk = people[start : start + ANNOUNCE_CHUNK]
        with transaction.atomic():
            # Deliverers of the same announcement take turns: each sees the others' receipts.
            Announcement.objects.select_for_update().filter(pk=announcement.pk).first()
            had = set(
                Receipt.objects.filter(announcement=announcement, user_id__in=chunk).values_list(
                    "user_id", flat=True
                )
            )
            todo = list(User.objects.filter(pk__in=[pk for pk in chunk if pk not in had]))
            Receipt.objects.bulk_create(
                [Receipt(announcement=announcement, user=person) for person in todo]
            )
            notify_many(
                Note(
                    user_id=person.pk,
                    kind=Notification.Kind.ANNOUNCEMENT,
                    text=f"{announcement.cohort.name}: {announcement.subject}",
                    url=url,
                )
                for person in todo
            )
            for person in todo:
                _email(
                    "announcement",
                    person,
                    {"announcement": announcement, "url": settings.SITE_URL + url},
                )
            given += len(todo)
    Announcement.objects.filter(pk=announcement.pk, delivered_at__isnull=True).update(
        delivered_at=timezone.now(), recipients=len(people)
    )
    return given


def sweep_announcements(*, older_than: timedelta = timedelta(minutes=2)) -> int:
    """Deliver announcements still going out a while after they were written (a broker that was
    down, a worker killed mid-way): receipts make the second pass skip who already had it."""
    stale = Announcement.objects.filter(
        delivered_at__isnull=True, created_at__lte=timezone.now() - older_than
    ).values_list("pk", flat=True)
    return sum(deliver_announcement(pk) for pk in list(stale))


def visible_announcements(*, user: User) -> Sequence[Announcement]:
    """What this person may read: announcements they received, and those of cohorts they run."""
    return Announcement.objects.filter(Q(receipts__user=user) | Q(cohort__admins=user)).distinct()
