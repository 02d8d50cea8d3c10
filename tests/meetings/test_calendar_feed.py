"""The private calendar feed: each person's meetings as an iCal feed that calendar apps subscribe
to, read back by two independent parsers (`icalendar`, and `vobject`, which builds its zones from
the feed's own VTIMEZONE through dateutil rather than from the zone's name), and who may read it.

Lena London is mentored by Ned New York. They meet on Mondays at 18:00 London time, across the
2027 daylight-saving changes: New York moves to summer time (EDT, UTC-4) on Sunday 14 March 2027,
London (BST, UTC+1) only on Sunday 28 March. So for two weeks the cities are 4 hours apart, not 5:

    Mon  8 Mar  18:00 GMT = 18:00 UTC = 13:00 EST   both on winter time
    Mon 15 Mar  18:00 GMT = 18:00 UTC = 14:00 EDT   New York on summer time
    Mon 22 Mar  18:00 GMT = 18:00 UTC = 14:00 EDT   (cancelled)
    Mon 29 Mar  18:00 BST = 17:00 UTC = 13:00 EDT   both on summer time
    Mon  5 Apr  18:00 BST = 17:00 UTC = 13:00 EDT   (booked for 1 March, then moved here)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject
from django.urls import reverse

from matching.models import Mentorship
from meetings import services
from meetings.models import CalendarFeed, Meeting
from profiles.models import User
from tests.conftest import make_person
from tests.matching.conftest import make_mentee, make_mentor
from tests.meetings.conftest import LONDON, held_meeting, make_pair, utc

NEW_YORK = "America/New_York"
PLACE = "https://meet.example.org/lena"


def london(year: int, month: int, day: int, hour: int = 18) -> datetime:
    return datetime(year, month, day, hour, 0, tzinfo=ZoneInfo(LONDON))


def wall(year: int, month: int, day: int, hour: int) -> datetime:
    """A local wall-clock time, without its zone."""
    return datetime(year, month, day, hour, 0)


# What each one reads: the instant, Lena's wall clock, Ned's wall clock, status, sequence.
EXPECTED = {
    "winter": (utc(2027, 3, 8, 18), wall(2027, 3, 8, 18), wall(2027, 3, 8, 13), "CONFIRMED", 0),
    "us_summer": (
        utc(2027, 3, 15, 18),
        wall(2027, 3, 15, 18),
        wall(2027, 3, 15, 14),
        "CONFIRMED",
        0,
    ),
    "cancelled": (
        utc(2027, 3, 22, 18),
        wall(2027, 3, 22, 18),
        wall(2027, 3, 22, 14),
        "CANCELLED",
        1,
    ),
    "both_summer": (
        utc(2027, 3, 29, 17),
        wall(2027, 3, 29, 18),
        wall(2027, 3, 29, 13),
        "CONFIRMED",
        0,
    ),
    "moved": (utc(2027, 4, 5, 17), wall(2027, 4, 5, 18), wall(2027, 4, 5, 13), "CONFIRMED", 1),
}


@dataclass
class World:
    pair: Mentorship
    lena: User
    ned: User
    meetings: dict[str, Meeting]
    elsewhere: Meeting  # a meeting of another pair, Sia Sydney and Leo London


@pytest.fixture
def world(db) -> World:
    lena = make_mentee("lena@example.org", "Lena London", tz=LONDON)
    ned = make_mentor("ned@example.org", "Ned New York", tz=NEW_YORK)
    pair = Mentorship.objects.create(mentor=ned, mentee=lena)
    pair.goals.set(lena.goals.all())

    def book(*day: int) -> Meeting:
        return services.schedule(pair, lena, starts_at=london(*day), duration=60, place=PLACE)

    meetings = {
        "winter": book(2027, 3, 8),
        "us_summer": book(2027, 3, 15),
        "cancelled": book(2027, 3, 22),
        "both_summer": book(2027, 3, 29),
        "moved": book(2027, 3, 1),
    }
    services.cancel(meetings["cancelled"], ned)
    services.reschedule(
        meetings["moved"], ned, starts_at=london(2027, 4, 5), duration=60, place=PLACE
    )
    for meeting in meetings.values():
        meeting.refresh_from_db()
    # The stored instants are what the table above says (the rest of the file relies on it).
    assert {k: m.starts_at for k, m in meetings.items()} == {k: v[0] for k, v in EXPECTED.items()}

    other = make_pair()  # Sia Sydney and Leo London, strangers to Lena and Ned
    elsewhere = services.schedule(
        other, other.mentee, starts_at=london(2027, 3, 15), duration=60, place="Café"
    )
    return World(pair=pair, lena=lena, ned=ned, meetings=meetings, elsewhere=elsewhere)


READERS = [
    pytest.param("lena", LONDON, 1, id="mentee-in-london"),
    pytest.param("ned", NEW_YORK, 2, id="mentor-in-new-york"),
]


def feed_path(user: User) -> str:
    feed = CalendarFeed.objects.filter(user=user).first() or services.regenerate_feed(user=user)
    return reverse("meetings:calendar-feed", args=[feed.token])


def fetch(client, user: User) -> bytes:
    """The feed as a calendar app gets it: over HTTP, by its secret address, signed in as no one."""
    response = client.get(feed_path(user))
    assert response.status_code == 200
    return response.content


def by_icalendar(body: bytes) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(body)
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def by_vobject(body: bytes) -> dict:
    calendar = vobject.readOne(body.decode("utf-8"))
    return {event.uid.value: event for event in calendar.contents.get("vevent", [])}


def uid(meeting: Meeting) -> str:
    return f"meeting-{meeting.pk}@mentorship"


# The feed read by two parsers, in each reader's own zone.


@pytest.mark.parametrize(("who", "zone", "column"), READERS)
def test_icalendar_reads_each_meeting_at_the_readers_own_local_time(
    client, world, who, zone, column
):
    events = by_icalendar(fetch(client, getattr(world, who)))

    assert set(events) == {uid(m) for m in world.meetings.values()}
    for key, meeting in world.meetings.items():
        event = events[uid(meeting)]
        start, end = event.decoded("dtstart"), event.decoded("dtend")
        assert event["DTSTART"].params["TZID"] == zone, key
        assert event["DTEND"].params["TZID"] == zone, key
        assert start.replace(tzinfo=None) == EXPECTED[key][column], key
        assert end.replace(tzinfo=None) == EXPECTED[key][column] + timedelta(hours=1), key
        assert start == meeting.starts_at, key
        assert end == meeting.ends_at, key


@pytest.mark.parametrize(("who", "zone", "column"), READERS)
def test_vobject_reads_the_same_local_times_in_the_same_zone(client, world, who, zone, column):
    events = by_vobject(fetch(client, getattr(world, who)))

    assert set(events) == {uid(m) for m in world.meetings.values()}
    seen = {
        key: (
            events[uid(m)].dtstart.params["X-VOBJ-ORIGINAL-TZID"],
            events[uid(m)].dtstart.value.replace(tzinfo=None),
            events[uid(m)].dtend.value.replace(tzinfo=None),
        )
        for key, m in world.meetings.items()
    }
    assert seen == {
        key: ([zone], row[column], row[column] + timedelta(hours=1))
        for key, row in EXPECTED.items()
    }


@pytest.mark.parametrize(("who", "zone", "column"), READERS)
def test_both_parsers_agree_on_each_instant_which_is_the_stored_one(
    client, world, who, zone, column
):
    """vobject knows nothing of Olson names: it reads the offsets from the feed's VTIMEZONE. So
    this proves the VTIMEZONE we ship, as well as the event times, on each side of the changes."""
    body = fetch(client, getattr(world, who))
    with_icalendar, with_vobject = by_icalendar(body), by_vobject(body)

    stored = {key: (m.starts_at, m.ends_at) for key, m in world.meetings.items()}
    assert {
        key: (
            with_icalendar[uid(m)].decoded("dtstart").astimezone(UTC),
            with_icalendar[uid(m)].decoded("dtend").astimezone(UTC),
        )
        for key, m in world.meetings.items()
    } == stored
    assert {
        key: (
            with_vobject[uid(m)].dtstart.value.astimezone(UTC),
            with_vobject[uid(m)].dtend.value.astimezone(UTC),
        )
        for key, m in world.meetings.items()
    } == stored


@pytest.mark.parametrize(("who", "zone", "column"), READERS)
def test_the_feed_carries_a_vtimezone_for_the_readers_zone_only(client, world, who, zone, column):
    body = fetch(client, getattr(world, who))
    calendar = icalendar.Calendar.from_ical(body)

    [vtimezone] = calendar.walk("VTIMEZONE")
    assert str(vtimezone["TZID"]) == zone
    assert str(calendar["X-WR-TIMEZONE"]) == zone
    assert str(calendar["METHOD"]) == "PUBLISH"
    other = NEW_YORK if zone == LONDON else LONDON
    assert other.encode() not in body
    # The zone's own definition, not only its name, gives each meeting its right offset.
    defined = vtimezone.to_tz(lookup_tzid=False)
    for key, meeting in world.meetings.items():
        local = EXPECTED[key][column].replace(tzinfo=defined)
        assert local.astimezone(UTC) == meeting.starts_at, key


@pytest.mark.parametrize(("who", "zone", "column"), READERS)
def test_a_cancelled_meeting_stays_in_the_feed_marked_cancelled(client, world, who, zone, column):
    body = fetch(client, getattr(world, who))
    with_icalendar, with_vobject = by_icalendar(body), by_vobject(body)

    expected = {uid(m): EXPECTED[key][3] for key, m in world.meetings.items()}
    assert {u: str(e["STATUS"]) for u, e in with_icalendar.items()} == expected
    assert {u: e.status.value for u, e in with_vobject.items()} == expected
    cancelled = uid(world.meetings["cancelled"])
    # Cancelling bumps the sequence, so calendars take the cancellation over what they have.
    assert with_icalendar[cancelled].decoded("sequence") == 1
    assert with_vobject[cancelled].sequence.value == "1"
    # Still at its own time, so the calendar strikes out the right slot.
    slot = with_icalendar[cancelled].decoded("dtstart")
    assert slot.replace(tzinfo=None) == EXPECTED["cancelled"][column]


# One event per meeting, the same one over time and for both people.


def test_uids_are_stable_across_fetches_and_the_same_in_both_peoples_feeds(client, world):
    expected = {uid(m) for m in world.meetings.values()}

    lena_first, lena_again = fetch(client, world.lena), fetch(client, world.lena)
    ned_feed = fetch(client, world.ned)

    for body in (lena_first, lena_again, ned_feed):
        assert set(by_icalendar(body)) == expected
        assert set(by_vobject(body)) == expected
    # Nothing in the feed but the stamp changes from one fetch to the next.
    assert by_icalendar(lena_first).keys() == by_icalendar(lena_again).keys()
    for u, event in by_icalendar(lena_first).items():
        again = by_icalendar(lena_again)[u]
        for field in ("dtstart", "dtend", "sequence", "status", "summary", "location", "url"):
            assert event.decoded(field) == again.decoded(field), (u, field)
    assert lena_first.count(b"BEGIN:VEVENT") == len(expected)


def test_a_moved_meeting_keeps_its_uid_with_a_higher_sequence(client, world):
    meeting = world.meetings["winter"]
    before = by_icalendar(fetch(client, world.ned))[uid(meeting)]
    assert before.decoded("sequence") == 0
    assert before.decoded("dtstart").replace(tzinfo=None) == wall(2027, 3, 8, 13)

    # Moved from 8 March (winter both sides) to Monday 12 April, 18:00 BST = 17:00 UTC.
    services.reschedule(meeting, world.lena, starts_at=london(2027, 4, 12), duration=60, place="")

    for who, local_hour in ((world.ned, 13), (world.lena, 18)):
        body = fetch(client, who)
        with_icalendar, with_vobject = by_icalendar(body), by_vobject(body)
        assert len(with_icalendar) == len(world.meetings)  # replaced, not added
        after = with_icalendar[uid(meeting)]
        assert after.decoded("sequence") == 1 > before.decoded("sequence")
        assert int(with_vobject[uid(meeting)].sequence.value) == 1
        assert after.decoded("dtstart").replace(tzinfo=None) == wall(2027, 4, 12, local_hour)
        assert after.decoded("dtstart") == utc(2027, 4, 12, 17)
        assert "LOCATION" not in after  # the place was cleared
        assert str(after["STATUS"]) == "CONFIRMED"


def test_the_meeting_moved_in_the_fixture_already_shows_sequence_one(client, world):
    """Booked for 1 March and moved to 5 April: one event, at the new time, sequence 1."""
    events = by_icalendar(fetch(client, world.lena))
    moved = events[uid(world.meetings["moved"])]
    assert moved.decoded("sequence") == 1
    assert moved.decoded("dtstart").replace(tzinfo=None) == wall(2027, 4, 5, 18)
    assert not [
        e for e in events.values() if e.decoded("dtstart").date().isoformat() == "2027-03-01"
    ]


def test_the_feed_reaches_back_ninety_days_and_no_further(client, world):
    recent = held_meeting(world.pair, days_ago=2)
    old = held_meeting(world.pair, days_ago=100)

    events = by_icalendar(fetch(client, world.lena))

    assert uid(recent) in events
    assert str(events[uid(recent)]["STATUS"]) == "CONFIRMED"
    assert uid(old) not in events


# Who can read a feed.


def test_a_feed_holds_only_its_owners_meetings(client, world):
    stranger = uid(world.elsewhere)
    for person in (world.lena, world.ned):
        body = fetch(client, person)
        assert stranger not in by_icalendar(body)
        assert stranger not in by_vobject(body)
        assert b"Sia Sydney" not in body
        assert b"Caf" not in body
    # The other pair's people see theirs, and none of Lena's and Ned's.
    other_mentee = world.elsewhere.mentorship.mentee
    assert set(by_icalendar(fetch(client, other_mentee))) == {stranger}
    # Someone in no pair gets an empty, valid calendar.
    otto = make_person("otto@example.org", name="Otto Outsider")
    body = fetch(client, otto)
    assert by_icalendar(body) == {}
    assert by_vobject(body) == {}


def test_the_feed_is_text_calendar_for_anyone_holding_the_address(client, world):
    response = client.get(feed_path(world.lena))  # not signed in

    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0].strip() == "text/calendar"
    assert "charset=utf-8" in response["Content-Type"]
    assert response["Cache-Control"].startswith("private")
    assert response["X-Robots-Tag"] == "noindex"
    assert response.content.startswith(b"BEGIN:VCALENDAR\r\n")


def test_the_feed_answers_only_get(client, world):
    path = feed_path(world.lena)
    assert client.post(path).status_code == 405
    assert client.get(path).status_code == 200


def test_a_revoked_address_answers_404(client, world):
    path = feed_path(world.lena)
    assert client.get(path).status_code == 200

    assert services.revoke_feed(user=world.lena) is True

    assert client.get(path).status_code == 404
    assert services.revoke_feed(user=world.lena) is False  # nothing left to revoke
    assert client.get(feed_path(world.ned)).status_code == 200  # Ned's is untouched


def test_stopping_the_address_on_the_calendar_page_makes_it_404(client, world):
    path = feed_path(world.lena)
    client.force_login(world.lena)

    response = client.post(reverse("meetings:calendar"), {"action": "revoke"})

    assert response.status_code == 302
    assert response.url == reverse("meetings:calendar")
    assert client.get(path).status_code == 404
    assert not CalendarFeed.objects.filter(user=world.lena).exists()
    page = client.get(reverse("meetings:calendar")).content.decode()
    assert path not in page
    assert "Make my calendar address" in page


def test_a_new_address_replaces_the_old_one(client, world):
    old = feed_path(world.lena)
    client.force_login(world.lena)

    response = client.post(reverse("meetings:calendar"), {"action": "regenerate"})

    assert response.status_code == 302
    new = feed_path(world.lena)
    assert new != old
    client.logout()  # a calendar app is signed in as no one
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    assert set(by_icalendar(client.get(new).content)) == {uid(m) for m in world.meetings.values()}


def test_the_service_gives_a_fresh_long_token_each_time(world):
    first = services.regenerate_feed(user=world.lena).token
    second = services.regenerate_feed(user=world.lena).token
    assert first != second
    assert len(second) >= 40
    assert CalendarFeed.objects.filter(user=world.lena).count() == 1
    assert services.feed_owner(first) is None
    assert services.feed_owner(second) == world.lena


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("forged-token", id="made-up"),
        pytest.param("x" * 43, id="right-length"),
        pytest.param("%20", id="blank"),
        pytest.param("' OR 1=1 --", id="sql"),
    ],
)
def test_an_unknown_token_answers_404(client, world, token):
    feed_path(world.lena)  # a real feed exists
    response = client.get(reverse("meetings:calendar-feed", args=[token]))
    assert response.status_code == 404
    assert b"BEGIN:VCALENDAR" not in response.content


def test_a_part_of_a_real_token_answers_404(client, world):
    real = services.regenerate_feed(user=world.lena).token
    for token in (real[:-1], real[1:], real + "x"):
        response = client.get(reverse("meetings:calendar-feed", args=[token]))
        assert response.status_code == 404, token


def test_an_inactive_persons_feed_answers_404(client, world):
    path = feed_path(world.lena)
    world.lena.is_active = False
    world.lena.save(update_fields=["is_active"])

    assert client.get(path).status_code == 404
    assert client.get(feed_path(world.ned)).status_code == 200


# The page where one's own address is made, shown and stopped.


def test_the_calendar_page_needs_sign_in(client, world):
    response = client.get(reverse("meetings:calendar"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login") + "?next=")

    response = client.post(reverse("meetings:calendar"), {"action": "regenerate"})
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    assert not CalendarFeed.objects.exists()


def test_the_calendar_page_shows_my_own_address_only(client, world):
    lena_feed = services.regenerate_feed(user=world.lena)
    ned_feed = services.regenerate_feed(user=world.ned)

    client.force_login(world.lena)
    page = client.get(reverse("meetings:calendar")).content.decode()

    assert services.feed_url(lena_feed) in page
    assert lena_feed.token in page
    assert ned_feed.token not in page

    client.force_login(world.ned)
    page = client.get(reverse("meetings:calendar")).content.decode()
    assert services.feed_url(ned_feed) in page
    assert lena_feed.token not in page


def test_without_an_address_the_page_offers_to_make_one(client, world):
    client.force_login(world.lena)
    page = client.get(reverse("meetings:calendar")).content.decode()
    assert "Make my calendar address" in page
    assert 'id="feed-url"' not in page

    response = client.post(reverse("meetings:calendar"), {"action": "regenerate"}, follow=True)

    feed = CalendarFeed.objects.get(user=world.lena)
    assert services.feed_url(feed) in response.content.decode()
    assert "Your calendar address is ready" in response.content.decode()


def test_an_unknown_action_changes_nothing(client, world):
    feed = services.regenerate_feed(user=world.lena)
    client.force_login(world.lena)

    for data in ({"action": "delete-everything"}, {}):
        response = client.post(reverse("meetings:calendar"), data)
        assert response.status_code == 302
        assert CalendarFeed.objects.get(user=world.lena).token == feed.token


def test_stopping_an_address_one_never_had_is_harmless(client, world):
    client.force_login(world.ned)
    response = client.post(reverse("meetings:calendar"), {"action": "revoke"})
    assert response.status_code == 302
    assert not CalendarFeed.objects.filter(user=world.ned).exists()
