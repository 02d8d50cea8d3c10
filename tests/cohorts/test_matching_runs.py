"""A cohort matched end to end: run, review (lock, remove, swap), re-run, publish, export."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from cohorts import services
from cohorts.models import Cohort, Enrollment, MatchRun, PairRule, Placement, Proposal
from matching.models import Introduction, Mentorship
from profiles.models import Email, Profile
from tests.cohorts.conftest import enrol
from tests.conftest import make_person
from tests.matching.conftest import make_mentee, make_mentor


@pytest.fixture
def people(cohort):
    """Three mentees and two mentors with one place each: a full assignment leaves one mentee,
    whose only language nobody speaks."""
    mentees = [make_mentee(f"mentee{i}@example.org", f"Mentee {i}") for i in range(2)]
    loner = make_mentee("loner@example.org", "Lone Speaker")
    Profile.objects.filter(user=loner).update(languages=["ja"])
    mentors = [make_mentor(f"mentor{i}@example.org", f"Mentor {i}", capacity=1) for i in range(2)]
    for mentee in [*mentees, loner]:
        enrol(cohort, mentee, "mentee")
    for mentor in mentors:
        enrol(cohort, mentor, "mentor")
    return mentees, loner, mentors


def run(client, cohort) -> MatchRun:
    response = client.post(reverse("cohorts:match", args=[cohort.slug]))
    assert response.status_code == 302
    return services.latest_run(cohort)


def pairs(run_: MatchRun) -> set[tuple[str, str]]:
    return {
        (p.mentee.name, p.mentor.name) for p in run_.proposals.select_related("mentee", "mentor")
    }


def test_matching_runs_in_a_task_and_explains_who_is_left_out(
    signed_in, cohort, people, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        result = run(signed_in, cohort)
    result.refresh_from_db()
    assert result.status == MatchRun.Status.DONE
    assert result.progress == 100
    assert pairs(result) == {("Mentee 0", "Mentor 0"), ("Mentee 1", "Mentor 1")} or pairs(
        result
    ) == {("Mentee 0", "Mentor 1"), ("Mentee 1", "Mentor 0")}
    (unmatched,) = result.unmatched.all()
    assert unmatched.mentee.name == "Lone Speaker"
    assert unmatched.reason == "No mentor in the cohort speaks Japanese."
    assert result.stats["matched"] == 2 and result.stats["mentees"] == 3
    assert set(result.stats["seconds"]) == {"load", "score", "solve", "save"}

    page = signed_in.get(reverse("cohorts:review", args=[cohort.slug]))
    assert "2 of 3 mentees matched" in page.text
    assert "both skills in your goals" in page.text
    assert "No mentor in the cohort speaks Japanese." in page.text


def test_a_full_cohort_says_every_fitting_mentor_is_full(cohort, people):
    _, loner, _ = people
    Profile.objects.filter(user=loner).update(languages=["en"])
    outcome_run = MatchRun.objects.create(cohort=cohort)
    from cohorts import matchrun

    done = matchrun.execute(outcome_run.pk)
    (unmatched,) = done.unmatched.all()
    assert unmatched.reason.startswith("Every mentor who fits is full")


def test_locked_pairs_survive_a_rerun_and_removed_ones_never_come_back(
    signed_in, cohort, people, django_capture_on_commit_callbacks
):
    (mentee0, mentee1), _, (mentor0, mentor1) = people
    with django_capture_on_commit_callbacks(execute=True):
        first = run(signed_in, cohort)
    proposal = first.proposals.get(mentee=mentee0)
    other_mentor = mentor1 if proposal.mentor == mentor0 else mentor0
    swap_target = first.proposals.get(mentee=mentee1)

    # Swap, then lock mentee 0's new pair.
    response = signed_in.post(
        reverse("cohorts:swap", args=[cohort.slug]), {"selected": [proposal.pk, swap_target.pk]}
    )
    assert response.status_code == 302
    proposal.refresh_from_db()
    assert proposal.mentor == other_mentor
    signed_in.post(reverse("cohorts:proposal-action", args=[cohort.slug, proposal.pk, "lock"]))
    # The swap locked both new pairs, so that a re-run keeps what the admin chose.
    assert (
        list(PairRule.objects.filter(cohort=cohort).values_list("kind", flat=True))
        == [PairRule.Kind.LOCK] * 2
    )

    with django_capture_on_commit_callbacks(execute=True):
        second = run(signed_in, cohort)
    kept = second.proposals.get(mentee=mentee0)
    assert kept.mentor == other_mentor and kept.locked

    # Remove mentee 1's pair: a re-run may not propose it again (and here finds nobody else).
    removed = second.proposals.get(mentee=mentee1)
    signed_in.post(reverse("cohorts:proposal-action", args=[cohort.slug, removed.pk, "remove"]))
    with django_capture_on_commit_callbacks(execute=True):
        third = run(signed_in, cohort)
    assert not third.proposals.filter(mentee=mentee1, mentor=removed.mentor).exists()


def test_publishing_twice_makes_each_pair_and_its_intro_email_once(
    signed_in, cohort, people, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        matched = run(signed_in, cohort)
    url = reverse("cohorts:publish", args=[cohort.slug, matched.pk])
    confirm = signed_in.get(url)
    assert "2 new pairs will start, and 4 introduction emails will go out" in confirm.text
    with django_capture_on_commit_callbacks(execute=True):
        first = signed_in.post(url, follow=True)
    with django_capture_on_commit_callbacks(execute=True):
        second = signed_in.post(url, follow=True)

    assert "2 pairs published on" in first.text
    assert "Every pair of this run is published already" in second.text
    assert Mentorship.objects.filter(source="cohort", status="active").count() == 2
    assert Placement.objects.filter(cohort=cohort).count() == 2
    assert Introduction.objects.count() == 2
    assert Email.objects.filter(kind="matching/introduction").count() == 4  # both sides of 2
    cohort.refresh_from_db()
    assert cohort.status == Cohort.Status.ACTIVE


def test_the_pairs_csv_download_and_the_command(signed_in, cohort, people, tmp_path):
    out = tmp_path / "pairs.csv"
    call_command("match_cohort", cohort.slug, "--dry-run", "--out", str(out), stdout=io.StringIO())
    assert not MatchRun.objects.exists()  # a dry run keeps nothing
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert list(rows[0]) == ["mentee_email", "mentor_email", "score", "reasons"]
    assert len([r for r in rows if r["mentor_email"]]) == 2
    (lone,) = [r for r in rows if not r["mentor_email"]]
    assert lone == {
        "mentee_email": "loner@example.org",
        "mentor_email": "",
        "score": "",
        "reasons": "No mentor in the cohort speaks Japanese.",
    }

    call_command("match_cohort", cohort.slug, "--out", str(out), stdout=io.StringIO())
    response = signed_in.get(reverse("cohorts:export", args=[cohort.slug]))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.decode() == out.read_text()


def test_invitations_enrol_the_person_who_follows_the_link(
    signed_in, cohort, django_capture_on_commit_callbacks, settings
):
    settings.EMAIL_KEEP_SENT_BODIES = True
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(
            reverse("cohorts:people", args=[cohort.slug]),
            {"emails": "newbie@example.org, not-an-address", "role": "mentee"},
        )
    assert not Enrollment.objects.exists()  # one bad address: nothing sent
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(
            reverse("cohorts:people", args=[cohort.slug]),
            {"emails": "newbie@example.org\nsecond@example.org", "role": "mentee"},
        )
    email = Email.objects.get(to=["newbie@example.org"])
    assert email.subject == "You are invited to January mentoring month"
    link = next(word for word in email.body_text.split() if "/cohorts/join/" in word)
    path = link.split("127.0.0.1:8000")[-1]

    newbie = make_person("newbie@example.org", name="Nia Newbie")
    stranger = make_person("someone@example.org", name="Someone Else")
    client = Client()
    client.force_login(stranger)
    assert client.get(path).status_code == 403
    client.force_login(newbie)
    page = client.get(path)
    assert page.status_code == 200 and "Join January mentoring month" in page.text
    assert not Enrollment.objects.filter(status="joined").exists()  # a GET changes nothing
    assert client.post(path).status_code == 302
    enrollment = Enrollment.objects.get(email="newbie@example.org")
    assert enrollment.status == Enrollment.Status.JOINED and enrollment.user == newbie
    assert Profile.objects.get(user=newbie).is_mentee
    roster = signed_in.get(reverse("cohorts:people", args=[cohort.slug]))
    assert "second@example.org" in roster.text and "Invited" in roster.text


def test_a_participant_never_sees_the_review_page(client, cohort, people):
    (mentee0, _), _, _ = people
    client.force_login(mentee0)
    for name in ("cohorts:review", "cohorts:detail", "cohorts:health", "cohorts:export"):
        assert client.get(reverse(name, args=[cohort.slug])).status_code == 404
    other = MatchRun.objects.create(cohort=cohort, status=MatchRun.Status.DONE)
    publish = reverse("cohorts:publish", args=[cohort.slug, other.pk])
    assert client.post(publish).status_code == 404
    assert not Proposal.objects.exists()
