"""Deleting one's account reaches the community: a place at an event goes to the next in line,
circles are left (or closed, for their facilitator), stories are gone."""

from __future__ import annotations

from community import actions
from community.models import Rsvp, Story
from matching.models import Circle, CircleMember
from profiles.privacy import erase_account
from tests.community.conftest import joiner, plan


def test_erasure_gives_the_place_on_closes_the_circle_and_deletes_the_stories(cohort, admin):
    leaving, waiting = joiner(cohort, 1), joiner(cohort, 2)
    event = plan(cohort, admin, capacity=1)
    actions.rsvp(event=event, user=leaving)
    actions.rsvp(event=event, user=waiting)
    led = Circle.objects.create(topic="Led", facilitator=leaving, weekday=1, start_minute=600)
    joined = Circle.objects.create(topic="Joined", facilitator=admin, weekday=1, start_minute=600)
    CircleMember.objects.create(circle=joined, user=leaving, status="active")
    actions.write_story(author=leaving, title="Mine", body="My words.", cohort=cohort)

    erase_account(user=leaving)

    assert event.rsvps.get(user=waiting).status == Rsvp.Status.GOING
    assert not Rsvp.objects.filter(user=leaving).exists()
    led.refresh_from_db()
    assert led.status == Circle.Status.CLOSED
    assert joined.members.get(user=leaving).status == CircleMember.Status.LEFT
    assert not Story.objects.exists()
