"""Stories: written by a participant, approved or returned by their cohort's admin, public once
approved, withdrawn whenever the author likes; a thank-you note is quoted only with consent."""

from __future__ import annotations

import pytest
from django.urls import reverse

from community import actions
from community.actions import CommunityError
from community.models import Story
from matching.models import Mentorship
from meetings.models import Closure
from tests.community.conftest import joiner
from tests.conftest import make_person
from tests.matching.conftest import make_mentor

TITLE = "From analyst to engineer in six months"
BODY = "I came with one goal: **own a pipeline**. My mentor asked for one small step a week."


@pytest.fixture
def author(cohort):
    return joiner(cohort, 1)


def submitted(author, cohort) -> Story:
    story = actions.write_story(author=author, title=TITLE, body=BODY, cohort=cohort)
    return actions.submit_story(story=story, by=author)


def test_an_approved_story_is_public_and_listed_for_its_cohort(client, author, cohort, admin):
    story = submitted(author, cohort)
    url = reverse("community:story", args=[story.pk])
    assert client.get(url).status_code == 404  # not yet, not for the public

    actions.review_story(story=story, by=admin, approve=True)

    page = client.get(reverse("community:stories")).content.decode()
    assert TITLE in page and "<strong>own a pipeline</strong>" in page
    assert client.get(url).status_code == 200
    client.force_login(admin)
    queue = client.get(reverse("community:review-queue") + f"?cohort={cohort.slug}")
    assert TITLE in queue.content.decode()


def test_a_returned_story_needs_a_note_and_goes_back_to_its_author(author, cohort, admin):
    story = submitted(author, cohort)
    with pytest.raises(CommunityError, match="Say what to change"):
        actions.review_story(story=story, by=admin, approve=False)

    actions.review_story(
        story=story, by=admin, approve=False, note="Add what you would tell others."
    )

    story.refresh_from_db()
    assert story.status == Story.Status.RETURNED and story.review_note.startswith("Add what")
    assert not Story.objects.published().exists()


def test_withdrawing_takes_a_published_story_off_the_public_page(client, author, cohort, admin):
    story = submitted(author, cohort)
    actions.review_story(story=story, by=admin, approve=True)
    client.force_login(author)

    client.post(reverse("community:withdraw", args=[story.pk]))

    client.logout()
    assert TITLE not in client.get(reverse("community:stories")).content.decode()
    assert client.get(reverse("community:story", args=[story.pk])).status_code == 404


def test_only_the_cohorts_admins_review_its_stories(client, author, cohort):
    story = submitted(author, cohort)
    stranger = make_person("sid@example.org", name="Sid Stranger")
    client.force_login(stranger)

    response = client.post(reverse("community:review", args=[story.pk]), {"decision": "approve"})

    assert response.status_code == 404
    story.refresh_from_db()
    assert story.status == Story.Status.SUBMITTED
    with pytest.raises(Story.DoesNotExist):
        actions.review_story(story=story, by=stranger, approve=True)


def test_a_story_names_only_a_cohort_its_author_took_part_in(author, admin):
    from cohorts.models import Cohort

    other = Cohort.objects.create(name="Autumn", slug="autumn")
    with pytest.raises(CommunityError, match="took part in"):
        actions.write_story(author=author, title=TITLE, body=BODY, cohort=other)


def test_a_thank_you_is_quoted_only_once_its_author_agrees(client, cohort, admin):
    mentor = make_mentor("marco@example.org", "Marco Mentor")
    mentee = joiner(cohort, 2)
    pair = Mentorship.objects.create(mentor=mentor, mentee=mentee, status="closed")
    closure = Closure.objects.create(
        mentorship=pair, closed_by=mentee, outcome="completed", thank_you="You changed my year."
    )
    from cohorts.models import Enrollment

    Enrollment.objects.create(
        cohort=cohort, email=mentor.email, user=mentor, role="mentor", status="joined"
    )
    story = actions.write_story(
        author=mentor, title="Why I mentor", body="Because it works.", cohort=cohort, quote=closure
    )
    actions.submit_story(story=story, by=mentor)
    actions.review_story(story=story, by=admin, approve=True)
    url = reverse("community:story", args=[story.pk])
    assert "You changed my year." not in client.get(url).content.decode()

    client.force_login(mentee)
    assert "May Marco quote your thank-you note?" in client.get(url).content.decode()
    client.post(reverse("community:consent", args=[story.pk]), {"consent": "yes"})
    client.logout()

    assert "You changed my year." in client.get(url).content.decode()
    with pytest.raises(CommunityError, match="written to you"):
        actions.write_story(author=mentee, title="Mine", body="Text", quote=closure)
