"""The admin's flow around a run: invitations that sign people in once, publishing by run with
its figures, re-runs that place only who is not placed, ending a pair, and the CSV files."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.management import call_command
from django.db import IntegrityError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cohorts import importer, matchrun, services
from cohorts.models import Cohort, Enrollment, MatchRun, PairRule, Placement
from matching import actions
from matching.models import Introduction, Mentorship
from mentorship.celery import app as celery_app
from profiles.models import User
from tests.cohorts.conftest import enrol
from tests.cohorts.test_importer import MENTEE, csv_of
from tests.conftest import PASSWORD, make_person
from tests.matching.conftest import make_mentee, make_mentor, send


@pytest.fixture(autouse=True)
def _keep_bodies(settings):
    settings.EMAIL_KEEP_SENT_BODIES = True


def link_in(message, marker="/cohorts/join/") -> str:
    url = next(word for word in message.body.split() if marker in word)
    return url.split("127.0.0.1:8000")[-1]


def run_now(cohort) -> MatchRun:
    return matchrun.execute(MatchRun.objects.create(cohort=cohort).pk)


def publish_now(run: MatchRun) -> MatchRun:
    matchrun.request_publish(run)
    return matchrun.publish_run(run.pk)


# --- Invitations ------------------------------------------------------------------------------


def test_an_imported_person_chooses_a_password_through_the_link_once_and_is_signed_in(
    cohort, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        importer.apply(importer.parse(csv_of(MENTEE), cohort), cohort)
    (invitation,) = mail.outbox
    assert invitation.subject == "You are invited to January mentoring month"
    assert "choose your password and join" in invitation.body
    path = link_in(invitation)
    mina = User.objects.get(email="mina@example.org")
    assert not mina.has_usable_password()

    browser = Client()
    page = browser.get(path)
    assert "Choose my password and join" in page.text
    assert browser.post(path, {"new_password1": "x", "new_password2": "y"}).status_code == 200
    response = browser.post(path, {"new_password1": PASSWORD, "new_password2": PASSWORD})

    assert response.status_code == 302
    assert browser.get(reverse("home")).wsgi_request.user == mina
    enrollment = cohort.enrollments.get()
    assert enrollment.status == Enrollment.Status.JOINED
    assert EmailAddress.objects.get(user=mina).verified
    # The link signed her in once; now it asks her to sign in with the password she chose.
    used = Client().get(path)
    assert used.status_code == 410 and "This sign-in link has been used" in used.text
    assert Client().login(email="mina@example.org", password=PASSWORD)


def test_declining_keeps_a_person_out_of_matching_and_resending_invites_again(
    signed_in, cohort, django_capture_on_commit_callbacks
):
    mentee = make_mentee("mia@example.org", "Mia Mentee")
    mentor = make_mentor("max@example.org", "Max Mentor")
    enrol(cohort, mentor, "mentor")
    with django_capture_on_commit_callbacks(execute=True):
        services.invite(cohort=cohort, emails=[mentee.email], role="mentee")
    path = link_in(mail.outbox[-1])
    page = Client().post(reverse("cohorts:decline", args=[path.split("/")[-2]]))
    assert "You declined the invitation" in page.text
    enrollment = cohort.enrollments.get(email=mentee.email)
    assert enrollment.status == Enrollment.Status.DECLINED

    cohort.match_invited = True
    cohort.save()
    assert not run_now(cohort).proposals.exists()  # declined people are never matched
    roster = signed_in.get(reverse("cohorts:people", args=[cohort.slug]))
    assert "0 invited, 1 joined, 1 declined" in roster.text

    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(reverse("cohorts:resend", args=[cohort.slug, enrollment.pk]))
    assert [m.to for m in mail.outbox] == [[mentee.email], [mentee.email]]
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.INVITED and enrollment.invited_at


def test_someone_without_an_account_can_decline_without_making_one(
    cohort, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.invite(cohort=cohort, emails=["nobody@example.org"], role="mentee")
    path = link_in(mail.outbox[-1])
    page = Client().get(path)
    assert page.status_code == 200
    assert "Sign in to join" in page.text and "Create my account" in page.text
    assert "No thanks, decline" in page.text
    Client().post(reverse("cohorts:decline", args=[path.split("/")[-2]]))
    assert cohort.enrollments.get().status == Enrollment.Status.DECLINED
    assert not User.objects.filter(email="nobody@example.org").exists()


def test_only_people_who_joined_are_matched_unless_the_cohort_matches_everyone(cohort):
    joined, invited = make_mentee("a@example.org", "Ann"), make_mentee("b@example.org", "Ben")
    mentor = make_mentor("m@example.org", "Meg Mentor", capacity=3)
    enrol(cohort, joined, "mentee")
    enrol(cohort, invited, "mentee", status="invited")
    enrol(cohort, mentor, "mentor")

    assert {p.mentee for p in run_now(cohort).proposals.all()} == {joined}
    cohort.match_invited = True
    cohort.save()
    assert {p.mentee for p in run_now(cohort).proposals.all()} == {joined, invited}


# --- Publishing, re-runs and ending pairs -----------------------------------------------------


@pytest.fixture
def two_by_two(cohort):
    mentees = [make_mentee(f"mentee{i}@example.org", f"Mentee {i}") for i in range(3)]
    mentors = [make_mentor(f"mentor{i}@example.org", f"Mentor {i}", capacity=1) for i in range(2)]
    for person in mentees:
        enrol(cohort, person, "mentee")
    for person in mentors:
        enrol(cohort, person, "mentor")
    return mentees, mentors


def test_the_intro_says_the_program_matched_them_why_and_links_to_their_page(
    cohort, two_by_two, django_capture_on_commit_callbacks
):
    run = run_now(cohort)
    with django_capture_on_commit_callbacks(execute=True):
        publish_now(run)
    intros = [m for m in mail.outbox if m.subject.startswith("Meet ")]
    assert len(intros) == 4 and Introduction.objects.count() == 2
    pair = Mentorship.objects.filter(source="cohort").first()
    (to_mentee,) = [m for m in intros if m.to == [pair.mentee.email]]
    assert to_mentee.subject == f"Meet {pair.mentor.name}, your mentor in January mentoring month"
    assert f"January mentoring month has matched you with {pair.mentor.name}" in to_mentee.body
    assert "Why the program paired you:" in to_mentee.body
    assert "has agreed to be your mentor" not in to_mentee.body
    assert reverse("meetings:pair", args=[pair.pk]) in to_mentee.body


def test_a_rerun_after_publishing_places_only_who_is_not_placed_and_keeps_published_pairs(
    cohort, two_by_two, admin, django_capture_on_commit_callbacks
):
    mentees, _ = two_by_two
    first = run_now(cohort)
    with django_capture_on_commit_callbacks(execute=True):
        publish_now(first)
    published = set(Mentorship.objects.active().values_list("mentee", "mentor"))
    assert len(published) == 2
    late = make_mentor("late@example.org", "Late Mentor", capacity=2)
    enrol(cohort, late, "mentor")

    second = run_now(cohort)

    rows = {(p.mentee_id, p.mentor_id): p for p in second.proposals.all()}
    assert published <= set(rows)
    assert all(rows[pair].is_published for pair in published)
    new = [p for pair, p in rows.items() if pair not in published]
    (unplaced,) = [m for m in mentees if m.pk not in {a for a, _ in published}]
    assert [(p.mentee, p.mentor) for p in new] == [(unplaced, late)]
    assert matchrun.figures(second) | {} == matchrun.figures(second)
    figures = matchrun.figures(second)
    assert (figures["matched"], figures["mentees"], figures["published"]) == (3, 3, 2)
    assert figures["to_publish"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        publish_now(second)
    assert Mentorship.objects.active().count() == 3
    assert Introduction.objects.count() == 3  # one per pair, never twice


def test_publishing_skips_a_pair_whose_mentor_filled_up_through_a_request_meanwhile(
    cohort, two_by_two, django_capture_on_commit_callbacks
):
    run = run_now(cohort)
    taken = run.proposals.order_by("pk").first()
    outsider = make_mentee("out@example.org", "Out Sider")
    request = send(outsider, taken.mentor)
    actions.accept_request(request_id=request.pk, mentor=taken.mentor)  # capacity 1: now full

    with django_capture_on_commit_callbacks(execute=True):
        done = publish_now(run)

    assert done.published == 1
    (skipped,) = done.publish_skipped
    assert skipped.endswith(f"{taken.mentor.name} has no room left.")
    assert Mentorship.objects.active().filter(mentor=taken.mentor).count() == 1


def test_an_admin_ends_a_published_pair_with_a_reason_both_read(
    signed_in, cohort, two_by_two, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        publish_now(run_now(cohort))
    pair = Mentorship.objects.active().first()
    PairRule.objects.create(cohort=cohort, mentee=pair.mentee, mentor=pair.mentor, kind="lock")
    url = reverse("cohorts:end-pair", args=[cohort.slug, pair.pk])
    assert "End the pair of" in signed_in.get(url).text
    empty = signed_in.post(url, {"reason": "  "})
    assert empty.status_code == 400 and "Say why the pair ends" in empty.text
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(url, {"reason": "Schedules no longer fit."})

    assert response.status_code == 302
    pair.refresh_from_db()
    assert pair.status == "closed" and pair.end_reason == "Schedules no longer fit."
    assert sorted(m.to[0] for m in mail.outbox) == sorted([pair.mentee.email, pair.mentor.email])
    assert all("Schedules no longer fit." in m.body for m in mail.outbox)
    assert all("An admin of your mentoring program" in m.body for m in mail.outbox)
    # Even a pair that was locked is not proposed again.
    rerun = run_now(cohort)
    assert not rerun.proposals.filter(mentee=pair.mentee, mentor=pair.mentor).exists()


def test_publish_names_its_run_and_an_older_run_cannot_be_published(signed_in, cohort, two_by_two):
    older, newer = run_now(cohort), run_now(cohort)
    page = signed_in.get(reverse("cohorts:publish", args=[cohort.slug, older.pk]))
    assert "A newer matching run exists" in page.text
    response = signed_in.post(reverse("cohorts:publish", args=[cohort.slug, older.pk]))
    assert response.status_code == 302 and not Placement.objects.exists()
    signed_in.post(reverse("cohorts:publish", args=[cohort.slug, newer.pk]))
    assert Placement.objects.filter(run=newer).count() == 2


def test_the_review_figures_follow_each_remove(signed_in, cohort, two_by_two):
    run = run_now(cohort)
    review = reverse("cohorts:review", args=[cohort.slug])
    assert "2 of 3 mentees matched (67%), 2 pairs" in signed_in.get(review).text
    proposal = run.proposals.first()
    signed_in.post(reverse("cohorts:proposal-action", args=[cohort.slug, proposal.pk, "remove"]))
    page = signed_in.get(review).text
    assert "1 of 3 mentees matched (33%), 1 pair," in page
    assert f"{proposal.mentee.name}</strong>: Removed by an admin." in page


def test_one_run_at_a_time_per_cohort_is_a_database_rule(cohort):
    MatchRun.objects.create(cohort=cohort)
    with pytest.raises(IntegrityError):
        MatchRun.objects.create(cohort=cohort)


def test_a_second_press_of_run_matching_while_one_runs_starts_nothing(signed_in, cohort):
    MatchRun.objects.create(cohort=cohort)  # queued, not picked up yet
    response = signed_in.post(reverse("cohorts:match", args=[cohort.slug]), follow=True)
    assert "already going" in response.text
    assert cohort.runs.count() == 1


def test_with_the_broker_down_starting_a_run_says_so_and_leaves_nothing_queued(
    signed_in, cohort, settings
):
    previous = celery_app.conf.broker_url, celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens there
    celery_app.conf.broker_connection_retry = False
    celery_app.conf.task_publish_retry = False
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    try:
        response = signed_in.post(reverse("cohorts:match", args=[cohort.slug]), follow=True)
    finally:
        celery_app.conf.broker_url, celery_app.conf.task_always_eager = previous
        celery_app.conf.task_publish_retry = True
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
    assert response.status_code == 200
    assert "The task queue cannot be reached right now" in response.text
    assert not cohort.runs.exists()


def test_publish_cohort_prints_how_many_pairs_it_published(cohort, two_by_two):
    run = run_now(cohort)
    out = io.StringIO()
    call_command("publish_cohort", cohort.slug, "--run", str(run.pk), stdout=out)
    assert out.getvalue().startswith(f"Published 2 pairs of run {run.pk} in January")
    assert Placement.objects.count() == 2


# --- CSV files --------------------------------------------------------------------------------


def test_pairs_csv_neutralises_cells_a_spreadsheet_would_run(signed_in, cohort, two_by_two):
    mentees, _ = two_by_two
    User.objects.filter(pk=mentees[0].pk).update(email="=cmd@example.org")
    assert services.spreadsheet_safe("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert services.spreadsheet_safe("-1+2") == "'-1+2"
    assert services.spreadsheet_safe("@SUM") == "'@SUM"
    assert services.spreadsheet_safe("plain") == "plain"
    run_now(cohort)
    text = signed_in.get(reverse("cohorts:export", args=[cohort.slug])).content.decode()
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    assert "'=cmd@example.org" in cells


def test_the_template_csv_has_the_columns_and_imports_cleanly(signed_in, cohort):
    response = signed_in.get(reverse("cohorts:import-template"))
    assert response["Content-Disposition"].endswith('filename="cohort-import-template.csv"')
    header = next(csv.reader(io.StringIO(response.content.decode())))
    assert tuple(header) == importer.COLUMNS
    assert importer.parse(response.content, cohort).ok


def test_an_upload_over_the_limit_is_refused_before_it_is_read(signed_in, cohort, settings):
    url = reverse("cohorts:import", args=[cohort.slug])
    response = signed_in.generic(
        "POST",
        url,
        data=b"x",
        content_type="multipart/form-data; boundary=xyz",
        CONTENT_LENGTH=str(50 * 1024 * 1024),
    )
    assert response.status_code == 413
    assert f"larger than {importer.MAX_BYTES // (1024 * 1024)} MB" in response.text
    assert not cohort.enrollments.exists()


def test_no_one_but_the_cohorts_admins_can_post_to_its_actions(client, cohort, two_by_two):
    run = run_now(cohort)
    publish_now(run)
    proposal = run.proposals.first()
    enrollment = cohort.enrollments.first()
    urls = [
        reverse("cohorts:match", args=[cohort.slug]),
        reverse("cohorts:publish", args=[cohort.slug, run.pk]),
        reverse("cohorts:end-pair", args=[cohort.slug, proposal.mentorship_id]),
        reverse("cohorts:resend", args=[cohort.slug, enrollment.pk]),
        reverse("cohorts:swap", args=[cohort.slug]),
        reverse("cohorts:proposal-action", args=[cohort.slug, proposal.pk, "remove"]),
    ]
    participant = proposal.mentee
    other_admin = make_person("olga@example.org", name="Olga Other-Admin", staff=True)
    Cohort.objects.create(name="Olga's", slug="olgas").admins.add(other_admin)
    for person in (participant, other_admin):
        client.force_login(person)
        for url in urls:
            response = client.post(url, {"reason": "x", "selected": [proposal.pk, proposal.pk]})
            assert response.status_code == 404, (person, url)
    client.logout()
    for url in urls:
        assert client.post(url).url.startswith("/accounts/login/"), url
    assert Mentorship.objects.active().count() == 2


def test_the_sweeper_introduces_a_pair_whose_intro_task_was_lost_whatever_its_source(
    cohort, two_by_two
):
    mentees, mentors = two_by_two
    outsider = make_mentee("out@example.org", "Out Sider")
    # No on-commit callbacks run: the intro tasks are "lost", as with a broker down at commit.
    by_request = actions.accept_request(request_id=send(outsider, mentors[0]).pk, mentor=mentors[0])
    publish_now(run_now(cohort))
    old = actions.start_mentorships(
        pairs=[actions.NewPair(mentee_id=mentees[2].pk, mentor_id=mentors[1].pk)],
        source="request",
        introduce=False,
    )
    assert not Introduction.objects.exists()
    Mentorship.objects.update(started_at=timezone.now() - timedelta(minutes=5))
    Mentorship.objects.filter(pk__in=[m.pk for m in old.mentorships]).update(
        started_at=timezone.now() - timedelta(days=30)
    )

    sent = services.introduce_forgotten()

    introduced = set(Introduction.objects.values_list("mentorship", flat=True))
    assert by_request.pk in introduced
    assert not introduced & {m.pk for m in old.mentorships}  # older pairs are left alone
    assert sent == len(introduced) == Mentorship.objects.active().count() - len(old.mentorships)
    assert services.introduce_forgotten() == 0  # once
