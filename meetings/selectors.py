"""What the pair's page shows, read in a fixed number of queries however many meetings, notes and
action items the pair has: the view only glues this to its forms.

Rows are small dataclasses around the model instances rather than attributes stuck onto them, so
what the page reads is named and typed here, and a model instance means the same everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch, Q
from django.utils import timezone

from matching.models import Mentorship
from meetings import services
from meetings.models import ActionItem, AgendaItem, CheckIn, Closure, Meeting, Milestone, Note
from profiles.models import Goal, User


@dataclass(frozen=True)
class GoalPlan:
    """One of the pair's goals with its milestones, and how far along they are."""

    goal: Goal
    milestones: list[Milestone]
    progress: int  # percent of the milestones done; a goal without any: 100 once achieved


@dataclass(frozen=True)
class MeetingRow:
    """A scheduled meeting as the viewer reads it: the time in their own zone, the agenda, the
    notes they may see and their own check-in."""

    meeting: Meeting
    when: str
    agenda: list[AgendaItem]
    notes: list[Note]
    my_checkin: CheckIn | None
    first_held: bool = False  # the pair's first meeting held: its check-in asks "a good fit?"

    @property
    def pk(self) -> int:
        return self.meeting.pk


@dataclass(frozen=True)
class ActionRow:
    item: ActionItem
    overdue: bool


@dataclass(frozen=True)
class Slot:
    """A time both are free, offered as a one-click booking."""

    value: str  # the start in ISO 8601, posted back as `slot`
    label: str  # in the viewer's own zone


@dataclass(frozen=True)
class Moment:
    at: datetime
    text: str


@dataclass(frozen=True)
class PairWorkspace:
    pair: Mentorship
    member: bool  # one of the two; otherwise an admin of the pair's cohort, reading only
    me_mentor: bool
    can_change: bool  # a member of a pair still going: a closed pair's page is a record
    other: User | None  # the other person of the two, for a member
    upcoming: list[MeetingRow]  # soonest first
    past: list[MeetingRow]  # latest first
    open_actions: list[ActionRow]
    done_actions: list[ActionRow]
    goals: list[GoalPlan]
    slots: list[Slot]
    timeline: list[Moment]  # latest first
    closure: Closure | None

    @property
    def next_meeting(self) -> MeetingRow | None:
        return self.upcoming[0] if self.upcoming else None


def pair_workspace(*, pair: Mentorship, viewer: User, member: bool) -> PairWorkspace:
    """The pair's page for `viewer`: one of the two (member=True) or a cohort admin, who sees the
    same record read-only and never anyone's private notes."""
    now = timezone.now()
    can_change = member and pair.status == Mentorship.Status.ACTIVE
    # Times read in the viewer's zone; a cohort admin reads them as the mentee lives them. The
    # pair's own copy of the person, whose profile (and zone) came with the pair.
    if member:
        reader = pair.mentor if viewer.pk == pair.mentor_id else pair.mentee
    else:
        reader = pair.mentee
    upcoming, past = _meetings(pair=pair, viewer=viewer, reader=reader, now=now)
    actions = list(pair.actions.select_related("owner"))
    today = timezone.localdate()
    rows = [ActionRow(item=a, overdue=bool(a.due_on and a.due_on < today)) for a in actions]
    return PairWorkspace(
        pair=pair,
        member=member,
        me_mentor=member and viewer.pk == pair.mentor_id,
        can_change=can_change,
        other=services.other_person(pair, viewer) if member else None,
        upcoming=upcoming,
        past=list(reversed(past)),
        open_actions=[row for row in rows if not row.item.done],
        done_actions=[row for row in rows if row.item.done],
        goals=_goals(pair),
        slots=_slots(pair=pair, reader=reader, upcoming=upcoming) if can_change else [],
        timeline=_timeline(pair=pair, upcoming=upcoming, past=past, actions=actions),
        closure=getattr(pair, "closure", None) if pair.status == Mentorship.Status.CLOSED else None,
    )


def progress_of(goal: Goal, milestones: list[Milestone]) -> int:
    """Percent of the milestones done; without milestones, all or nothing by the goal's status."""
    if not milestones:
        return 100 if goal.status == Goal.Status.ACHIEVED else 0
    return round(100 * sum(m.status == Milestone.Status.DONE for m in milestones) / len(milestones))


def _goals(pair: Mentorship) -> list[GoalPlan]:
    goals = pair.goals.prefetch_related(
        Prefetch(
            "milestones", queryset=Milestone.objects.filter(mentorship=pair), to_attr="pair_steps"
        )
    )
    return [
        GoalPlan(goal=goal, milestones=goal.pair_steps, progress=progress_of(goal, goal.pair_steps))
        for goal in goals
    ]


def _meetings(
    *, pair: Mentorship, viewer: User, reader: User, now: datetime
) -> tuple[list[MeetingRow], list[MeetingRow]]:
    """The scheduled meetings still to come and those held, both oldest first."""
    meetings = pair.meetings.filter(status=Meeting.Status.SCHEDULED).prefetch_related(
        Prefetch("agenda", queryset=AgendaItem.objects.select_related("author")),
        # The same rule as services.visible_notes: shared notes and the viewer's own.
        Prefetch(
            "notes",
            queryset=Note.objects.filter(Q(private=False) | Q(author=viewer)).select_related(
                "author"
            ),
        ),
        Prefetch("checkins", queryset=CheckIn.objects.filter(author=viewer)),
    )
    upcoming: list[MeetingRow] = []
    past: list[MeetingRow] = []
    for meeting in meetings:
        held = meeting.ends_at <= now
        mine = list(meeting.checkins.all())
        row = MeetingRow(
            meeting=meeting,
            when=services.when_label(meeting, reader),
            agenda=list(meeting.agenda.all()),
            notes=list(meeting.notes.all()),
            my_checkin=mine[0] if mine else None,
            first_held=held and not past,
        )
        (past if held else upcoming).append(row)
    return upcoming, past


def _slots(*, pair: Mentorship, reader: User, upcoming: list[MeetingRow]) -> list[Slot]:
    def booked(start: datetime, end: datetime) -> bool:
        return any(r.meeting.starts_at < end and start < r.meeting.ends_at for r in upcoming)

    return [
        Slot(value=slot.start.isoformat(), label=services.when_label(_span(slot), reader))
        for slot in services.suggested_starts(pair)
        # A time the pair has already booked is not offered again.
        if not booked(slot.start, slot.end)
    ]


def _span(slot) -> Meeting:
    """An unsaved meeting over the slot, only to label it as meetings are labelled."""
    minutes = int((slot.end - slot.start).total_seconds() // 60)
    return Meeting(starts_at=slot.start, duration_minutes=minutes)


def _timeline(
    *,
    pair: Mentorship,
    upcoming: list[MeetingRow],
    past: list[MeetingRow],
    actions: list[ActionItem],
) -> list[Moment]:
    source = pair.get_source_display().lower()
    moments = [
        Moment(at=pair.started_at, text=f"The mentorship started ({source})."),
        *(Moment(at=r.meeting.starts_at, text="Meeting planned") for r in upcoming),
        *(Moment(at=r.meeting.starts_at, text="Meeting held") for r in past),
        *(Moment(at=a.done_at, text=f"Done: {a.text}") for a in actions if a.done and a.done_at),
    ]
    return sorted(moments, key=lambda moment: moment.at, reverse=True)
