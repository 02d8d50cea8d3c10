"""Messages on a request and on a pair: who may write, edits that are never silent, reports that
block, read receipts, and the page people read them on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from conversations import actions
from conversations.actions import ConversationError
from conversations.models import Message, MessageRevision, Notification
from matching import actions as matching_actions
from matching import services as matching_services
from matching.models import Block
from meetings.models import Closure
from tests.conversations.conftest import emails
from tests.matching.conftest import make_mentor, send


def thread_of(request_):
    return actions.thread_for(request=request_)


def test_a_mentee_asks_a_question_before_the_answer_and_the_mentor_has_one_unread_line(
    request_, mentee, mentor
):
    thread = thread_of(request_)

    for text in ("Is a monthly call enough?", "Or weekly at first?", "Thanks!"):
        actions.post_message(thread=thread, author=mentee, body=text)

    line = Notification.objects.get(user=mentor, kind=Notification.Kind.MESSAGE)
    assert line.count == 3 and line.text == "3 new messages from Mina Mentee"
    assert line.url == reverse("matching:request", args=[request_.pk]) + "#conversation"
    assert actions.unread_count(mentee) == 0  # her own messages are not news to her


def test_someone_outside_the_pair_cannot_write_in_its_thread(request_, outsider):
    with pytest.raises(ConversationError, match="Only the two people"):
        actions.post_message(thread=thread_of(request_), author=outsider, body="Hello")

    assert not Message.objects.exists()


@pytest.mark.parametrize("body", ["", "   \n ", "x" * 4001, "bad\x00byte"])
def test_an_empty_too_long_or_nul_message_is_refused_with_a_reason(request_, mentee, body):
    with pytest.raises(ConversationError):
        actions.post_message(thread=thread_of(request_), author=mentee, body=body)

    assert not Message.objects.exists()


def test_a_withdrawn_request_takes_no_more_messages_but_a_declined_one_does(mentee, mentor):
    request_ = send(mentee, mentor)
    matching_services.decline(request_.pk, mentor, "I am full this quarter.")
    actions.post_message(thread=thread_of(request_), author=mentee, body="Thanks for answering!")

    second = make_mentor("wanda@example.org", "Wanda Second", tz="Europe/Paris")
    other = send(mentee, second)
    matching_services.withdraw(other.pk, mentee)
    with pytest.raises(ConversationError, match="withdrawn"):
        actions.post_message(thread=thread_of(other), author=second, body="Why?")


def test_the_conversation_before_the_answer_carries_on_with_the_pair(
    client, request_, mentee, mentor
):
    actions.post_message(thread=thread_of(request_), author=mentee, body="Before you answer: hi")
    pair = matching_actions.accept_request(request_id=request_.pk, mentor=mentor)

    assert actions.thread_for(mentorship=pair) == thread_of(request_)
    client.force_login(mentor)
    page = client.get(reverse("meetings:pair", args=[pair.pk]))
    assert "Before you answer: hi" in page.content.decode()


def test_a_closed_pair_keeps_its_thread_read_only(client, request_, mentee, mentor):
    pair = matching_actions.accept_request(request_id=request_.pk, mentor=mentor)
    thread = actions.thread_for(mentorship=pair)
    actions.post_message(thread=thread, author=mentor, body="Great working with you")
    matching_actions.end_mentorship(mentorship=pair, by=mentee, reason="Goal reached")

    with pytest.raises(ConversationError, match="read-only"):
        actions.post_message(thread=thread, author=mentee, body="One more thing")
    client.force_login(mentee)
    page = client.get(reverse("meetings:pair", args=[pair.pk])).content.decode()
    assert "Great working with you" in page
    assert "its conversation is kept, read-only" in page
    assert 'name="body"' not in page
    assert not Closure.objects.exists()


def test_a_message_is_edited_within_ten_minutes_and_the_earlier_text_stays(request_, mentee):
    message = actions.post_message(thread=thread_of(request_), author=mentee, body="Tuesday?")

    actions.edit_message(message=message, by=mentee, body="Wednesday?")

    message.refresh_from_db()
    assert message.body == "Wednesday?" and message.edited_at is not None
    assert list(MessageRevision.objects.values_list("body", flat=True)) == ["Tuesday?"]


def test_a_message_cannot_be_edited_after_ten_minutes_nor_by_the_other_person(
    request_, mentee, mentor
):
    message = actions.post_message(thread=thread_of(request_), author=mentee, body="Tuesday?")
    with pytest.raises(ConversationError, match="your own"):
        actions.edit_message(message=message, by=mentor, body="Changed by Marco")
    Message.objects.filter(pk=message.pk).update(
        created_at=timezone.now() - timedelta(minutes=10, seconds=1)
    )
    with pytest.raises(ConversationError, match="ten minutes"):
        actions.edit_message(message=message, by=mentee, body="Too late")

    message.refresh_from_db()
    assert message.body == "Tuesday?" and not MessageRevision.objects.exists()


def test_both_people_see_that_a_message_was_edited_and_what_it_said(
    client, request_, mentee, mentor
):
    message = actions.post_message(thread=thread_of(request_), author=mentee, body="Tuesday?")
    actions.edit_message(message=message, by=mentee, body="Wednesday?")
    client.force_login(mentor)

    page = client.get(reverse("matching:request", args=[request_.pk])).content.decode()

    assert "Wednesday?" in page and "edited" in page
    assert "Earlier version" in page and "Tuesday?" in page


def test_reporting_a_message_blocks_the_pair_and_tells_staff(request_, mentee, mentor, staff):
    message = actions.post_message(thread=thread_of(request_), author=mentee, body="Rude words")

    actions.report_message(message=message, by=mentor, reason="Insults")

    message.refresh_from_db()
    assert message.reported_at is not None and message.report_reason == "Insults"
    assert Block.objects.filter(mentor=mentor, mentee=mentee).exists()
    for person in (mentee, mentor):
        with pytest.raises(ConversationError, match="reported"):
            actions.post_message(thread=thread_of(request_), author=person, body="Again")
    assert matching_services.can_request(mentee, mentor) is not None  # no new request either
    (email,) = emails("conversations/reported", staff)
    assert "Rude words" in email.body_text and "Insults" in email.body_text


def test_nobody_reports_their_own_message(request_, mentee):
    message = actions.post_message(thread=thread_of(request_), author=mentee, body="Hello")

    with pytest.raises(ConversationError):
        actions.report_message(message=message, by=mentee)

    assert not Block.objects.exists()


def test_a_read_receipt_shows_once_the_other_person_opened_the_thread(
    client, request_, mentee, mentor
):
    actions.post_message(thread=thread_of(request_), author=mentee, body="Hello Marco")
    url = reverse("matching:request", args=[request_.pk])
    client.force_login(mentee)
    assert "Seen by" not in client.get(url).content.decode()

    client.force_login(mentor)
    client.get(url)
    client.force_login(mentee)

    assert "Seen by Marco" in client.get(url).content.decode()
    assert actions.unread_count(mentor) == 1  # the request itself, not the message


def test_opening_the_thread_reads_its_line_in_the_feed(client, request_, mentee, mentor):
    actions.post_message(thread=thread_of(request_), author=mentee, body="Hello Marco")
    assert Notification.objects.unread().filter(user=mentor, kind="message").count() == 1
    client.force_login(mentor)

    client.get(reverse("matching:request", args=[request_.pk]))

    assert not Notification.objects.unread().filter(user=mentor, kind="message").exists()


def test_posting_with_htmx_answers_the_conversation_fragment(client, request_, mentee):
    client.force_login(mentee)
    thread = thread_of(request_)

    response = client.post(
        reverse("conversations:post", args=[thread.pk]),
        {"body": "Sent **in place**"},
        headers={"HX-Request": "true"},
    )

    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert 'id="conversation"' in html and "<strong>in place</strong>" in html


def test_a_refused_message_keeps_the_draft_and_says_why_beside_it(client, request_, mentee):
    client.force_login(mentee)
    thread = thread_of(request_)

    response = client.post(
        reverse("conversations:post", args=[thread.pk]),
        {"body": "x" * 4001},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "Keep a message under 4,000 characters" in html and "x" * 4001 in html
    assert not Message.objects.exists()


def test_message_text_is_sanitised_markdown(client, request_, mentee, mentor):
    body = "<script>alert(1)</script> [site](https://example.org) [bad](javascript:alert(1))"
    actions.post_message(thread=thread_of(request_), author=mentee, body=body)
    client.force_login(mentor)

    html = client.get(reverse("matching:request", args=[request_.pk])).content.decode()

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown as text, never run
    assert 'href="https://example.org" rel="nofollow noopener noreferrer"' in html
    assert 'href="javascript' not in html


def test_a_cohort_admin_reading_a_pair_page_never_sees_its_conversation(
    client, request_, mentee, mentor, outsider
):
    from cohorts.models import Cohort, Placement

    pair = matching_actions.accept_request(request_id=request_.pk, mentor=mentor)
    actions.post_message(thread=actions.thread_for(mentorship=pair), author=mentee, body="Private")
    cohort = Cohort.objects.create(name="Spring", slug="spring")
    cohort.admins.add(outsider)
    Placement.objects.create(cohort=cohort, mentorship=pair, score=0.5)
    client.force_login(outsider)

    page = client.get(reverse("meetings:pair", args=[pair.pk]))

    assert page.status_code == 200 and "Private" not in page.content.decode()


def test_what_was_new_is_marked_new_once(client, request_, mentee, mentor):
    thread = thread_of(request_)
    actions.post_message(thread=thread, author=mentor, body="Welcome!")
    actions.mark_thread_read(thread=thread, user=mentee)
    first = actions.post_message(thread=thread, author=mentor, body="One more thing")
    url = reverse("matching:request", args=[request_.pk])
    client.force_login(mentee)

    html = client.get(url).content.decode()
    assert html.count('class="unread-divider"') == 1
    assert html.index('class="unread-divider"') < html.index(f'id="message-{first.pk}"')
    assert html.index('class="unread-divider"') > html.index("Welcome!")

    assert 'class="unread-divider"' not in client.get(url).content.decode()
