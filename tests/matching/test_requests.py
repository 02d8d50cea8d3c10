"""Requests and acceptance: the rules, the emails, and the limits under concurrency."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from matching import actions, services, tasks
from matching.models import Block, Introduction, MentorRequest, Mentorship
from matching.services import MatchingError
from profiles.models import Email, Goal
from tests.conftest import make_person
from tests.matching.conftest import make_mentee, make_mentor, send


def emails(kind: str) -> list[Email]:
    return list(Email.objects.filter(kind=f"matching/{kind}").order_by("pk"))


def test_a_request_reaches_the_mentor(mentee, mentor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        request = send(mentee, mentor)
    assert request.status == MentorRequest.Status.PENDING
    (email,) = emails("request_received")
    assert email.to == [mentor.email]
    assert email.subject == "Mina Mentee would like you as their mentor"
    assert "I would love your help" in email.body_text
    assert f"/requests/{request.pk}/" in email.body_text
    assert "<html" in email.body_html


def test_at_most_three_pending_requests_and_never_twice_to_the_same_mentor(mentee, mentor):
    send(mentee, mentor)
    with pytest.raises(MatchingError, match="already have a request waiting with Marco"):
        send(mentee, mentor)
    for i in range(2):
        send(mentee, make_mentor(f"m{i}@example.org", f"Other Mentor {i}"))
    fourth = make_mentor("m9@example.org", "Fourth Mentor")
    with pytest.raises(MatchingError, match="3 requests waiting for an answer, the most at once"):
        send(mentee, fourth)
    assert MentorRequest.objects.filter(mentee=mentee).count() == 3


def test_the_pending_limit_is_configurable(mentee, mentor, settings):
    settings.MATCHING_MAX_PENDING_REQUESTS = 1
    send(mentee, mentor)
    with pytest.raises(MatchingError, match="1 requests waiting"):
        send(mentee, make_mentor("m1@example.org", "Other Mentor"))


def test_a_request_names_only_the_mentees_own_open_goals(mentee, mentor, outsider):
    others = Goal.objects.create(owner=outsider, title="Not yours")
    with pytest.raises(MatchingError, match="your own open goals"):
        send(mentee, mentor, goals=[others])
    with pytest.raises(MatchingError, match="at least one"):
        send(mentee, mentor, goals=[])


def test_a_paused_or_full_mentor_cannot_be_asked(mentee, mentor):
    mentor.offer.accepting_requests = False
    mentor.offer.save()
    with pytest.raises(MatchingError, match="not taking requests right now"):
        send(mentee, mentor)
    mentor.offer.accepting_requests = True
    mentor.offer.capacity = 0
    mentor.offer.save()
    with pytest.raises(MatchingError, match="no room"):
        send(mentee, mentor)


def test_accepting_creates_the_pair_and_withdraws_other_requests_for_the_same_goals(
    mentee, mentor, django_capture_on_commit_callbacks
):
    goal, other_goal = mentee.goals.order_by("pk")
    second = make_mentor("s@example.org", "Second Mentor")
    third = make_mentor("t@example.org", "Third Mentor")
    request = send(mentee, mentor, goals=[goal])
    same_goal = send(mentee, second, goals=[goal, other_goal])
    different_goal = send(mentee, third, goals=[other_goal])

    with django_capture_on_commit_callbacks(execute=True):
        pair = actions.accept_request(request_id=request.pk, mentor=mentor)

    assert pair.status == Mentorship.Status.ACTIVE
    assert pair.source == Mentorship.Source.REQUEST
    assert list(pair.goals.all()) == [goal]
    goal.refresh_from_db()
    assert goal.status == Goal.Status.IN_PROGRESS
    same_goal.refresh_from_db()
    different_goal.refresh_from_db()
    assert same_goal.status == MentorRequest.Status.WITHDRAWN
    assert different_goal.status == MentorRequest.Status.PENDING
    (note,) = emails("withdrawn_after_match")
    assert note.to == [second.email]
    assert "Thank you for considering it" in note.body_text
    (accepted,) = emails("accepted")
    assert accepted.to == [mentee.email]
    assert {tuple(e.to) for e in emails("introduction")} == {(mentee.email,), (mentor.email,)}


def test_decline_with_a_note_tells_the_mentee_and_blocks_asking_again_for_90_days(mentee, mentor):
    request = send(mentee, mentor)
    services.decline(request.pk, mentor, note="I'm on leave until spring, sorry.")
    (email,) = emails("declined")
    assert email.to == [mentee.email]
    assert "I'm on leave until spring, sorry." in email.body_text
    with pytest.raises(MatchingError, match="declined a request from you recently"):
        send(mentee, mentor)
    MentorRequest.objects.filter(pk=request.pk).update(
        answered_at=timezone.now() - timedelta(days=91)
    )
    assert send(mentee, mentor).status == MentorRequest.Status.PENDING


def test_ask_for_information_then_answer(mentee, mentor):
    request = send(mentee, mentor)
    with pytest.raises(MatchingError, match="Write the question"):
        services.ask_for_information(request.pk, mentor, "  ")
    services.ask_for_information(request.pk, mentor, "Which company is the offer from?")
    assert emails("information_asked")[0].to == [mentee.email]
    services.answer_question(request.pk, mentee, "A fintech start-up in Osaka.")
    request.refresh_from_db()
    assert request.status == MentorRequest.Status.PENDING
    assert "A fintech start-up in Osaka." in emails("question_answered")[0].body_text


def test_reporting_tells_staff_and_the_sender_can_no_longer_reach_the_mentor(mentee, mentor, staff):
    request = send(mentee, mentor)
    services.report(request.pk, mentor, reason="Insulting message")
    request.refresh_from_db()
    assert request.status == MentorRequest.Status.REPORTED
    assert Block.objects.filter(mentor=mentor, mentee=mentee).exists()
    (email,) = emails("reported")
    assert email.to == [staff.email]
    assert "Insulting message" in email.body_text
    with pytest.raises(MatchingError, match="not taking requests from you"):
        send(mentee, mentor)


def test_withdraw(mentee, mentor):
    request = send(mentee, mentor)
    services.withdraw(request.pk, mentee)
    with pytest.raises(MatchingError, match="already withdrawn"):
        actions.accept_request(request_id=request.pk, mentor=mentor)
    assert not Mentorship.objects.exists()


def test_the_intro_email_goes_out_once_even_when_the_task_runs_twice(mentee, mentor):
    request = send(mentee, mentor)
    # No on_commit run: the task has not run yet.
    pair = actions.accept_request(request_id=request.pk, mentor=mentor)

    assert tasks.introduce(pair.pk) is True
    assert tasks.introduce(pair.pk) is False
    tasks.introduce.apply(args=[pair.pk])  # and once more through Celery's own call path

    assert Introduction.objects.filter(mentorship=pair).count() == 1
    intros = emails("introduction")
    assert sorted(e.to[0] for e in intros) == sorted([mentee.email, mentor.email])


def test_reminder_after_five_days_and_expiry_after_fourteen_each_once(mentee, mentor):
    old = send(mentee, mentor)
    older = send(mentee, make_mentor("o@example.org", "Olly Older"))
    now = timezone.now()
    MentorRequest.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=6))
    MentorRequest.objects.filter(pk=older.pk).update(created_at=now - timedelta(days=15))

    assert services.remind_and_expire() == (1, 1)
    assert services.remind_and_expire() == (0, 0)  # beat firing twice sends nothing more

    (reminder,) = emails("reminder")
    assert reminder.to == [mentor.email]
    (expired,) = emails("expired")
    assert expired.to == [mentee.email]
    older.refresh_from_db()
    assert older.status == MentorRequest.Status.EXPIRED
    assert tasks.remind_and_expire_requests() == (0, 0)


@pytest.mark.django_db(transaction=True)
def test_twenty_accepts_at_once_never_exceed_a_capacity_of_three():
    """20 mentees' requests accepted at the same moment from 20 threads, on real PostgreSQL:
    exactly three pairs, and every other answer is a clear message, never an error 500."""
    assert connection.vendor == "postgresql"
    mentor = make_mentor("busy@example.org", "Busy Mentor", capacity=3)
    requests = [
        send(make_mentee(f"mentee{i}@example.org", f"Mentee {i}"), mentor) for i in range(20)
    ]
    barrier = threading.Barrier(20)
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def accept(request_id: int) -> None:
        client = Client(raise_request_exception=False)
        client.force_login(mentor)
        url = reverse("matching:request-action", args=[request_id, "accept"])
        barrier.wait()
        try:
            response = client.post(url, headers={"HX-Request": "true"})
            with lock:
                results.append((response.status_code, response.text))
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(r.pk,)) for r in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert [status for status, _ in results] == [200] * 20
    assert Mentorship.objects.filter(mentor=mentor, status="active").count() == 3
    accepted = [text for _, text in results if "You accepted the request." in text]
    refused = [text for _, text in results if "your capacity" in text]
    assert (len(accepted), len(refused)) == (3, 17)
    assert MentorRequest.objects.filter(status="accepted").count() == 3
    assert MentorRequest.objects.filter(status="pending").count() == 17


def test_outsiders_cannot_act_on_a_request(client, mentee, mentor):
    request = send(mentee, mentor)
    stranger = make_person("stranger@example.org", name="Stranger")
    for who, action in ((stranger, "accept"), (stranger, "withdraw"), (mentee, "accept")):
        client.force_login(who)
        response = client.post(reverse("matching:request-action", args=[request.pk, action]))
        assert response.status_code == 404, (who, action)
    client.force_login(mentor)
    assert (
        client.post(reverse("matching:request-action", args=[request.pk, "nope"])).status_code
        == 404
    )
    request.refresh_from_db()
    assert request.status == MentorRequest.Status.PENDING
