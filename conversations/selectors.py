"""A thread as one of its two people reads it, in a fixed number of queries however long it is."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Prefetch
from django.utils import timezone

from conversations import actions
from conversations.models import Message, MessageRevision, Participant, Thread
from profiles.models import User


@dataclass(frozen=True)
class MessageRow:
    message: Message
    mine: bool
    editable: bool  # the reader's own, within ten minutes, in a thread they may write in
    seen: bool  # the reader's own message, read by the other person (their receipt)
    revisions: list[MessageRevision] = field(default_factory=list)


@dataclass(frozen=True)
class Conversation:
    thread: Thread
    rows: list[MessageRow]
    other: User
    read_only: str | None  # why the reader cannot write, or None
    other_read_at: object = None  # when the other person last read it
    unread_from: int = 0  # the first message the reader had not read before opening it (0: none)
    group: bool = False  # a circle's: many people, receipts counted
    others: int = 0  # in a group, how many besides the reader
    seen_by: int = 0  # in a group, how many of them read the reader's last message

    @property
    def last_seen_pk(self) -> int | None:
        """The reader's last message the other has read: where "Seen" is shown."""
        seen = [row.message.pk for row in self.rows if row.mine and row.seen]
        return seen[-1] if seen else None


def conversation(*, thread: Thread, reader: User) -> Conversation:
    members = {
        p.user_id: p for p in Participant.objects.filter(thread=thread).select_related("user")
    }
    mine = members.get(reader.pk)
    other = next((p for uid, p in members.items() if uid != reader.pk), None)
    read_only = actions.read_only_reason(thread=thread, user=reader)
    messages = list(
        Message.objects.filter(thread=thread)
        .select_related("author")
        .prefetch_related(Prefetch("revisions", queryset=MessageRevision.objects.order_by("pk")))
        .order_by("pk")
    )
    now = timezone.now()
    group = bool(thread.circle_id)
    if group:  # anyone else having read it is enough for "Seen"; the count says how many
        reads = [p.read_up_to for uid, p in members.items() if uid != reader.pk]
        other, other_read = None, max(reads, default=0)
    else:
        other_read = other.read_up_to if other else 0
    rows = [
        MessageRow(
            message=m,
            mine=m.author_id == reader.pk,
            editable=read_only is None and m.editable_by(reader, now),
            seen=m.author_id == reader.pk and m.pk <= other_read,
            revisions=list(m.revisions.all()),
        )
        for m in messages
    ]
    return Conversation(
        thread=thread,
        rows=rows,
        other=other.user if other else None,
        group=group,
        others=len(members) - (1 if mine else 0),
        seen_by=_seen_by(members, reader, messages),
        read_only=read_only,
        other_read_at=other.read_at if other else None,
        unread_from=next(
            (
                m.pk
                for m in messages
                if mine and m.pk > mine.read_up_to and m.author_id != reader.pk
            ),
            0,
        ),
    )


def _seen_by(members: dict, reader: User, messages: list[Message]) -> int:
    last = next((m.pk for m in reversed(messages) if m.author_id == reader.pk), None)
    if last is None:
        return 0
    return sum(1 for uid, p in members.items() if uid != reader.pk and p.read_up_to >= last)


def open_conversation(*, reader: User, request=None, mentorship=None, circle=None) -> Conversation:
    """The thread of a request, a pair or a circle as its reader sees it on the page, which reads
    it: what was new is marked so on this view (`unread_from`) and read from now on."""
    thread = actions.thread_for(request=request, mentorship=mentorship, circle=circle)
    shown = conversation(thread=thread, reader=reader)
    actions.mark_thread_read(thread=thread, user=reader)
    return shown
