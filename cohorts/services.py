"""Cohort work that views, tasks and commands share: invitations, review edits, the pairs CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from cohorts.models import Cohort, Enrollment, MatchRun, PairRule, Proposal
from matching import engine, loader
from profiles.mail import queue_email, render_email
from profiles.models import AvailabilityWindow, Goal, MentorOffer, Profile, User

INVITE_SALT = "cohorts.invite"
INVITE_MAX_AGE = 60 * 60 * 24 * 30  # an invitation link works for 30 days


def invite_token(enrollment: Enrollment) -> str:
    return signing.dumps({"e": enrollment.pk}, salt=INVITE_SALT, compress=True)


def enrollment_from_token(token: str) -> Enrollment | None:
    try:
        data = signing.loads(token, salt=INVITE_SALT, max_age=INVITE_MAX_AGE)
    except signing.BadSignature:
        return None
    return Enrollment.objects.select_related("cohort").filter(pk=data.get("e")).first()


def invite(cohort: Cohort, emails: Iterable[str], role: str) -> tuple[int, int]:
    """Enrol these addresses (new ones as invited) and email each new one an invitation.
    Returns (invited, already there)."""
    invited = kept = 0
    with transaction.atomic():
        for email in emails:
            email = User.objects.normalize_email(email.strip()).lower()
            enrollment, created = Enrollment.objects.get_or_create(
                cohort=cohort,
                email=email,
                defaults={
                    "role": role,
                    "user": User.objects.filter(email__iexact=email).first(),
                },
            )
            if not created:
                kept += 1
                continue
            send_invitation(enrollment)
            invited += 1
    return invited, kept


def send_invitation(enrollment: Enrollment) -> None:
    enrollment.invited_at = timezone.now()
    enrollment.save(update_fields=["invited_at"])
    link = settings.SITE_URL + reverse("cohorts:join", args=[invite_token(enrollment)])
    message = render_email(
        "cohorts/invitation",
        {
            "enrollment": enrollment,
            "cohort": enrollment.cohort,
            "link": link,
            "reset_url": settings.SITE_URL + reverse("account_reset_password"),
        },
        to=[enrollment.email],
    )
    queue_email(message=message, kind="cohorts/invitation")


@transaction.atomic
def join(enrollment: Enrollment, user: User) -> None:
    enrollment = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
    if enrollment.status != Enrollment.Status.JOINED:
        enrollment.status = Enrollment.Status.JOINED
        enrollment.joined_at = timezone.now()
    enrollment.user = user
    enrollment.save(update_fields=["status", "joined_at", "user"])
    profile, _ = Profile.objects.get_or_create(user=user)
    profile.is_mentee = profile.is_mentee or enrollment.is_mentee
    profile.is_mentor = profile.is_mentor or enrollment.is_mentor
    profile.save(update_fields=["is_mentee", "is_mentor"])


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
    if enrollment.user_id is None or enrollment.status == Enrollment.Status.INVITED:
        return "Invited"
    complete = enrollment.has_week and (
        (not enrollment.is_mentee or enrollment.has_goal)
        and (not enrollment.is_mentor or enrollment.has_offer)
    )
    return "Profile complete" if complete else "Joined"


def latest_run(cohort: Cohort) -> MatchRun | None:
    return cohort.runs.order_by("-created_at", "-pk").first()


def set_rule(cohort: Cohort, proposal: Proposal, kind: str | None) -> None:
    """Lock a pair (kept by every re-run), forbid it (never proposed again; the proposal goes),
    or clear the rule."""
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
        else:
            proposal.locked = kind == PairRule.Kind.LOCK
            proposal.save(update_fields=["locked"])


def rescore(cohort: Cohort, mentee_id: int, mentor_id: int) -> tuple[float, list[str], str | None]:
    """A pair's score and reasons under the cohort's policy, or why it cannot be made."""
    policy = cohort.policy()
    mentors = loader.load_mentors([mentor_id])
    mentees = loader.load_mentees([mentee_id], idf=mentors.idf)
    if not len(mentors) or not len(mentees):
        return 0.0, [], "That person is no longer in the cohort."
    forbidden = PairRule.objects.filter(
        cohort=cohort, mentee_id=mentee_id, mentor_id=mentor_id, kind=PairRule.Kind.FORBID
    ).exists()
    scores, reasons = engine.explain_pair(mentees, mentors, policy, loader.exclusions([mentee_id]))
    value = engine.weighted(reasons)
    # Capacity is checked over the whole review, not for this pair alone.
    language = (mentees.languages[0] * mentors.languages[0]).sum() > 0
    problem = None
    if forbidden:
        problem = "You forbade this pair."
    elif mentee_id == mentor_id:
        problem = "A person cannot mentor themself."
    elif not language:
        problem = "They share no language."
    elif scores.overlap_hours[0, 0] < policy.min_overlap_hours:
        problem = "They are not free at the same time for long enough."
    return round(value, 4), [r.sentence for r in engine.top_reasons(reasons)], problem


@transaction.atomic
def swap(cohort: Cohort, first: Proposal, second: Proposal) -> str | None:
    """Exchange the mentors of two proposals; None when done, else why not."""
    if first.locked or second.locked:
        return "Unlock a pair before swapping it."
    if first.mentor_id == second.mentor_id:
        return "Both pairs have the same mentor: there is nothing to swap."
    pairs = [(first.mentee_id, second.mentor_id), (second.mentee_id, first.mentor_id)]
    taken = Proposal.objects.filter(run=first.run, mentee_id__in=[p[0] for p in pairs]).exclude(
        pk__in=[first.pk, second.pk]
    )
    results = []
    for mentee_id, mentor_id in pairs:
        if taken.filter(mentee_id=mentee_id, mentor_id=mentor_id).exists():
            return "One of the new pairs is already proposed."
        value, reasons, problem = rescore(cohort, mentee_id, mentor_id)
        if problem:
            return problem
        results.append((value, reasons))
    first.mentor_id, second.mentor_id = second.mentor_id, first.mentor_id
    (first.score, first.reasons), (second.score, second.reasons) = results
    # Two updates would collide on (run, mentee, mentor) only if a mentee had both mentors.
    first.save(update_fields=["mentor", "score", "reasons"])
    second.save(update_fields=["mentor", "score", "reasons"])
    return None


def pairs_csv(run: MatchRun) -> str:
    """mentee_email,mentor_email,score,reasons; then unmatched mentees with no mentor and why."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
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
