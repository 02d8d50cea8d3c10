"""Cohort work that views, tasks and commands share: invitations, review edits, the pairs CSV."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable
from datetime import timedelta

from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from audit import services as audit
from audit.models import AuditEntry
from cohorts.models import Cohort, Enrollment, MatchRun, PairRule, Placement, Proposal, Unmatched
from matching import actions, eligibility, engine, loader
from matching.loader import bump_version
from matching.models import Mentorship
from matching.services import MatchingError
from matching.tasks import introduce_once
from profiles.mail import queue_email, render_email
from profiles.models import AvailabilityWindow, Goal, MentorOffer, Profile, User

logger = logging.getLogger(__name__)

INVITE_SALT = "cohorts.invite"
INVITE_MAX_AGE = 60 * 60 * 24 * 30  # an invitation link works for 30 days
INVITATION_BATCH = 200


class CohortError(Exception):
    """A cohort rule said no; the message is for the admin or the person who asked."""


def invite_token(enrollment: Enrollment) -> str:
    """The invitation link's token. For someone whose account was made for them (no password
    yet), it also carries allauth's password-reset key, which stops working once they choose a
    password: the link signs them in once."""
    data: dict = {"e": enrollment.pk}
    user = enrollment.user
    if user is not None and not user.has_usable_password():
        data["k"] = default_token_generator.make_token(user)
    return signing.dumps(data, salt=INVITE_SALT, compress=True)


def read_token(token: str) -> tuple[Enrollment | None, str]:
    """The enrollment a token names, and its sign-in key ("" when it has none)."""
    try:
        data = signing.loads(token, salt=INVITE_SALT, max_age=INVITE_MAX_AGE)
    except signing.BadSignature:
        return None, ""
    enrollment = (
        Enrollment.objects.select_related("cohort", "user").filter(pk=data.get("e")).first()
    )
    return enrollment, str(data.get("k", ""))


def can_sign_in_with(enrollment: Enrollment, key: str) -> bool:
    """The link may sign its person in: an account made for them, no password chosen yet, and
    the key still valid (it dies when a password is set)."""
    user = enrollment.user
    return bool(
        key
        and user is not None
        and user.is_active
        and not user.has_usable_password()
        and default_token_generator.check_token(user, key)
    )


def join_url(enrollment: Enrollment) -> str:
    return settings.SITE_URL + reverse("cohorts:join", args=[invite_token(enrollment)])


def invite(
    *, cohort: Cohort, emails: Iterable[str], role: str, by: User | None = None
) -> tuple[int, int]:
    """Enrol these addresses as invited; each new one gets an invitation once this commits.
    People who have an account are linked to it, and nothing of theirs changes.
    Returns (invited, already there)."""
    invited = kept = 0
    with transaction.atomic():
        for email in emails:
            email = User.objects.normalize_email(email.strip()).lower()
            _, created = Enrollment.objects.get_or_create(
                cohort=cohort,
                email=email,
                defaults={
                    "role": role,
                    # Through the index on lower(email); __iexact compares upper() and reads
                    # every account.
                    "user": User.objects.annotate(address=Lower("email"))
                    .filter(address=email)
                    .first(),
                },
            )
            invited += created
            kept += not created
        queue_invitations(cohort)
        audit.record(
            action=AuditEntry.Action.INVITE,
            by=by,
            cohort=cohort,
            target=f"{invited} {'person' if invited == 1 else 'people'} as {role}",
            detail={"role": role, "invited": invited, "already_enrolled": kept},
        )
    return invited, kept


def queue_invitations(cohort: Cohort) -> None:
    """Send the cohort's due invitations once the transaction commits. Enrollments with no
    `invited_at` are the durable record of what is due: a broker down now loses nothing, the
    sweeper sends them."""

    def send() -> None:
        from cohorts.tasks import send_invitations

        try:
            send_invitations.delay(cohort.pk)
        except Exception:  # the broker is down: the sweeper will send them
            logger.warning("invitations of cohort %s left to the sweeper", cohort.pk)

    transaction.on_commit(send)


def send_due_invitations(*, cohort_id: int | None = None) -> int:
    """Email every due invitation (invited, never sent), a batch per transaction, each claimed
    with SKIP LOCKED so two workers never send the same one."""
    sent = 0
    while True:
        with transaction.atomic():
            due = Enrollment.objects.filter(
                status=Enrollment.Status.INVITED, invited_at__isnull=True
            )
            if cohort_id is not None:
                due = due.filter(cohort_id=cohort_id)
            batch = list(
                due.select_for_update(skip_locked=True, of=("self",))
                .select_related("cohort", "user")
                .order_by("pk")[:INVITATION_BATCH]
            )
            if not batch:
                return sent
            for enrollment in batch:
                _queue_invitation(enrollment)
            Enrollment.objects.filter(pk__in=[e.pk for e in batch]).update(
                invited_at=timezone.now()
            )
            sent += len(batch)


def _queue_invitation(enrollment: Enrollment) -> None:
    user = enrollment.user
    message = render_email(
        "cohorts/invitation",
        {
            "enrollment": enrollment,
            "cohort": enrollment.cohort,
            "link": join_url(enrollment),
            "new_account": user is not None and not user.has_usable_password(),
            "has_account": user is not None,
        },
        to=[enrollment.email],
    )
    queue_email(message=message, kind="cohorts/invitation")


def resend_invitation(*, enrollment: Enrollment, by: User | None = None) -> None:
    """Send the invitation again (a new link; the old one still works until it expires)."""
    if enrollment.status == Enrollment.Status.JOINED:
        raise CohortError(f"{enrollment.email} has joined already.")
    with transaction.atomic():
        Enrollment.objects.filter(pk=enrollment.pk).update(
            invited_at=None, status=Enrollment.Status.INVITED, declined_at=None
        )
        queue_invitations(enrollment.cohort)
        audit.record(
            action=AuditEntry.Action.RESEND,
            by=by,
            cohort=enrollment.cohort,
            target=enrollment.email,
            detail={"enrollment": enrollment.pk, "was": enrollment.status},
        )


@transaction.atomic
def join(*, enrollment: Enrollment, user: User) -> None:
    enrollment = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
    if enrollment.status != Enrollment.Status.JOINED:
        enrollment.status = Enrollment.Status.JOINED
        enrollment.joined_at = timezone.now()
    enrollment.user = user
    enrollment.declined_at = None
    enrollment.save(update_fields=["status", "joined_at", "user", "declined_at"])
    profile, _ = Profile.objects.get_or_create(user=user)
    profile.is_mentee = profile.is_mentee or enrollment.is_mentee
    profile.is_mentor = profile.is_mentor or enrollment.is_mentor
    profile.save(update_fields=["is_mentee", "is_mentor"])
    transaction.on_commit(bump_version)


@transaction.atomic
def join_with_password(*, enrollment: Enrollment, password: str) -> User:
    """An invited person whose account was made for them chooses a password and joins: their
    address is verified by the link they followed."""
    user = User.objects.select_for_update().get(pk=enrollment.user_id)
    user.set_password(password)
    user.save(update_fields=["password"])
    EmailAddress.objects.filter(user=user, email__iexact=user.email).update(verified=True)
    join(enrollment=enrollment, user=user)
    return user


@transaction.atomic
def decline(*, enrollment: Enrollment) -> None:
    """The person said no: they are never matched in this cohort unless they join later."""
    Enrollment.objects.filter(pk=enrollment.pk).exclude(status=Enrollment.Status.JOINED).update(
        status=Enrollment.Status.DECLINED, declined_at=timezone.now()
    )


def roster(cohort: Cohort):
    """Enrollments with what each person still has to do: invited, joined, profile complete."""
    has_week = AvailabilityWindow.objects.filter(user=OuterRef("user"))
    has_goal = Goal.objects.open().filter(owner=OuterRef("user"))
    has_offer = MentorOffer.objects.filter(user=OuterRef("user"))
    return (
        cohort.enrollments.select_related("user")
        .annotate(has_week=Exists(has_week), has_goal=Exists(has_goal), has_offer=Exists(has_offer))
        .order_by("status", "email")
    )


def stage_of(enrollment) -> str:
    if enrollment.status == Enrollment.Status.DECLINED:
        return "Declined"
    if enrollment.user_id is None or enrollment.status == Enrollment.Status.INVITED:
        return "Invited" if enrollment.invited_at else "Invitation queued"
    complete = enrollment.has_week and (
        (not enrollment.is_mentee or enrollment.has_goal)
        and (not enrollment.is_mentor or enrollment.has_offer)
    )
    return "Profile complete" if complete else "Joined"


def latest_run(cohort: Cohort) -> MatchRun | None:
    return cohort.runs.order_by("-created_at", "-pk").first()


RULE_ACTIONS = {
    PairRule.Kind.LOCK: AuditEntry.Action.LOCK,
    PairRule.Kind.FORBID: AuditEntry.Action.REMOVE_PAIR,
    None: AuditEntry.Action.UNLOCK,
}


def set_rule(
    *, cohort: Cohort, proposal: Proposal, kind: str | None, by: User | None = None
) -> None:
    """Lock a pair (kept by every re-run), forbid it (never proposed again; the proposal goes,
    and its mentee is listed as removed when it was their only pair), or clear the rule."""
    if proposal.is_published:
        raise CohortError("This pair is published: end it from the cohort's pairs instead.")
    with transaction.atomic():
        PairRule.objects.filter(
            cohort=cohort, mentee_id=proposal.mentee_id, mentor_id=proposal.mentor_id
        ).delete()
        if kind is not None:
            PairRule.objects.create(
                cohort=cohort, mentee_id=proposal.mentee_id, mentor_id=proposal.mentor_id, kind=kind
            )
        if kind == PairRule.Kind.FORBID:
            proposal.delete()
            if not Proposal.objects.filter(run=proposal.run, mentee=proposal.mentee_id).exists():
                Unmatched.objects.update_or_create(
                    run=proposal.run,
                    mentee_id=proposal.mentee_id,
                    defaults={"reason": "Removed by an admin.", "removed": True},
                )
        else:
            proposal.locked = kind == PairRule.Kind.LOCK
            proposal.save(update_fields=["locked"])
        audit.record(
            action=RULE_ACTIONS[kind],
            by=by,
            cohort=cohort,
            target=f"{proposal.mentee} with {proposal.mentor}",
            detail={
                "run": proposal.run_id,
                "mentee": proposal.mentee_id,
                "mentor": proposal.mentor_id,
                "score": proposal.score,
            },
        )


def rescore(cohort: Cohort, mentee_id: int, mentor_id: int) -> tuple[float, list[str], str | None]:
    """A pair's score and reasons under the cohort's policy, or why it cannot be made. Whether
    it may be made is the engine's `allowed`, with the exclusions of `matching.eligibility`."""
    policy = cohort.policy()
    mentors = loader.load_mentors([mentor_id], idf=loader.site_idf())
    mentees = loader.load_mentees([mentee_id], idf=mentors.idf)
    if not len(mentors) or not len(mentees):
        return 0.0, [], "That person is no longer in the cohort."
    if PairRule.objects.filter(
        cohort=cohort, mentee_id=mentee_id, mentor_id=mentor_id, kind=PairRule.Kind.FORBID
    ).exists():
        return 0.0, [], "You removed this pair earlier; it stays out of this cohort."
    excluded = eligibility.excluded_pairs([mentee_id])
    scores, reasons = engine.explain_pair(mentees, mentors, policy, excluded)
    value = float(scores.score[0, 0])
    sentences = [r.sentence for r in engine.top_reasons(reasons)]
    if scores.allowed[0, 0]:
        return round(value, 4), sentences, None
    names = dict(User.objects.filter(pk__in=[mentee_id, mentor_id]).values_list("pk", "name"))
    problem = eligibility.pair_problem(mentee_id, mentor_id)
    if problem is not None:
        text = eligibility.message(
            problem, audience="admin", mentee=names[mentee_id], mentor=names[mentor_id]
        )
    elif not (mentees.languages[0] * mentors.languages[0]).sum():
        text = "They share no language."
    elif scores.overlap_hours[0, 0] < policy.min_overlap_hours:
        text = "They are not free at the same time for long enough."
    else:
        text = f"{names[mentor_id]} is not taking mentees in this mode, or has no room."
    return round(value, 4), sentences, text


@transaction.atomic
def swap(*, cohort: Cohort, first: Proposal, second: Proposal, by: User | None = None) -> None:
    """Exchange the mentors of two proposals, rescored. The new pairs are locked, so a re-run
    keeps what the admin chose. Refused with a CohortError."""
    first, second = (
        Proposal.objects.select_for_update().get(pk=p.pk)
        for p in sorted([first, second], key=lambda p: p.pk)
    )
    if first.run_id != second.run_id:
        raise CohortError("Both pairs must come from the same run.")
    if first.is_published or second.is_published:
        raise CohortError("A published pair cannot be swapped.")
    if first.locked or second.locked:
        raise CohortError("Unlock a pair before swapping it.")
    if first.mentor_id == second.mentor_id:
        raise CohortError("Both pairs have the same mentor: there is nothing to swap.")
    if first.mentee_id == second.mentee_id:
        raise CohortError("Both pairs have the same mentee: there is nothing to swap.")
    before = [(first.mentee_id, first.mentor_id), (second.mentee_id, second.mentor_id)]
    pairs = [(first.mentee_id, second.mentor_id), (second.mentee_id, first.mentor_id)]
    others = Proposal.objects.filter(run=first.run, mentee_id__in=[p[0] for p in pairs]).exclude(
        pk__in=[first.pk, second.pk]
    )
    results = []
    for mentee_id, mentor_id in pairs:
        if others.filter(mentee_id=mentee_id, mentor_id=mentor_id).exists():
            raise CohortError("One of the new pairs is already proposed.")
        value, reasons, problem = rescore(cohort, mentee_id, mentor_id)
        if problem:
            raise CohortError(problem)
        results.append((value, reasons))
    first.mentor_id, second.mentor_id = second.mentor_id, first.mentor_id
    (first.score, first.reasons), (second.score, second.reasons) = results
    first.locked = second.locked = True
    # Two updates would collide on (run, mentee, mentor) only if a mentee had both mentors.
    first.save(update_fields=["mentor", "score", "reasons", "locked"])
    second.save(update_fields=["mentor", "score", "reasons", "locked"])
    PairRule.objects.bulk_create(
        [
            PairRule(cohort=cohort, mentee_id=p.mentee_id, mentor_id=p.mentor_id, kind="lock")
            for p in (first, second)
        ],
        update_conflicts=True,
        unique_fields=["cohort", "mentee", "mentor"],
        update_fields=["kind"],
    )
    names = dict(
        User.objects.filter(pk__in={p for pair in pairs for p in pair}).values_list("pk", "name")
    )
    audit.record(
        action=AuditEntry.Action.SWAP,
        by=by,
        cohort=cohort,
        target="; ".join(f"{names[mentee]} now with {names[mentor]}" for mentee, mentor in pairs),
        detail={
            "run": first.run_id,
            "before": [list(pair) for pair in before],
            "after": [list(pair) for pair in pairs],
        },
    )


def end_pair(*, cohort: Cohort, mentorship: Mentorship, by: User, reason: str) -> None:
    """A cohort admin ends one of the cohort's published pairs; both people are told why, and the
    cohort's runs never propose the two together again (each may be matched with someone else)."""
    if not reason.strip():
        raise CohortError("Say why the pair ends: both people will read it.")
    if not Placement.objects.filter(cohort=cohort, mentorship=mentorship).exists():
        raise CohortError("That pair is not one of this cohort's.")
    with transaction.atomic():
        try:
            actions.end_mentorship(mentorship=mentorship, by=by, reason=reason)
        except MatchingError as error:
            raise CohortError(str(error)) from error
        # A lock on this pair would bring it back at the next run: the pair stays apart.
        PairRule.objects.update_or_create(
            cohort=cohort,
            mentee_id=mentorship.mentee_id,
            mentor_id=mentorship.mentor_id,
            defaults={"kind": PairRule.Kind.FORBID},
        )


# --- Intro emails of published pairs -----------------------------------------------------------


def introduce_placements(mentorship_ids: Iterable[int]) -> int:
    """Introduce each pair once; a published pair as its program's match: the program's name,
    the reasons it was proposed with, and a one-time sign-in link for whoever has no password
    yet."""
    sent = 0
    for mentorship_id in mentorship_ids:
        sent += introduce_once(mentorship_id, program=_program_context)
    return sent


def _program_context(mentorship: Mentorship) -> dict:
    placement = Placement.objects.select_related("cohort").filter(mentorship=mentorship).first()
    if placement is None:
        return {}
    reasons = (
        Proposal.objects.filter(mentorship=mentorship)
        .order_by("pk")
        .values_list("reasons", flat=True)
    ).first() or []
    signin = {}
    for person in (mentorship.mentee, mentorship.mentor):
        if person.has_usable_password():
            continue
        enrollment = placement.cohort.enrollments.filter(user=person).first()
        if enrollment is not None:
            signin[person.pk] = join_url(enrollment)
    return {"program": placement.cohort.name, "reasons": reasons, "signin_urls": signin}


INTRO_GRACE = timedelta(minutes=2)
INTRO_WINDOW = timedelta(days=7)  # older pairs without one were made without, on purpose (demo)


def introduce_forgotten(*, limit: int = 1000) -> int:
    """Active pairs, from requests or cohorts, with no introduction a while after they started:
    their task was lost (a broker down at commit, a worker killed). Introduce them now, a
    cohort's pair as its program's match."""
    now = timezone.now()
    due = list(
        Mentorship.objects.active()
        .filter(
            introduction__isnull=True,
            started_at__lt=now - INTRO_GRACE,
            started_at__gte=now - INTRO_WINDOW,
        )
        .values_list("pk", flat=True)[:limit]
    )
    return introduce_placements(due)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """OWASP's rule for CSV injection: a cell a spreadsheet would run as a formula is prefixed
    with a single quote, so it shows as the text it is."""
    return f"'{value}" if value.startswith(FORMULA_START) else value


class SafeWriter:
    """csv.writer whose every text cell goes through `spreadsheet_safe`."""

    def __init__(self, out) -> None:
        self.writer = csv.writer(out, lineterminator="\n")

    def writerow(self, row: Iterable) -> None:
        self.writer.writerow([spreadsheet_safe(c) if isinstance(c, str) else c for c in row])


def pairs_csv(run: MatchRun) -> str:
    """mentee_email,mentor_email,score,reasons; then unmatched mentees with no mentor and why."""
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(["mentee_email", "mentor_email", "score", "reasons"])
    for proposal in run.proposals.select_related("mentee", "mentor").order_by(
        "mentee__email", "mentor__email"
    ):
        writer.writerow(
            [
                proposal.mentee.email,
                proposal.mentor.email,
                f"{proposal.score:.4f}",
                " ".join(proposal.reasons),
            ]
        )
    for unmatched in run.unmatched.select_related("mentee").order_by("mentee__email"):
        writer.writerow([unmatched.mentee.email, "", "", unmatched.reason])
    return out.getvalue()
