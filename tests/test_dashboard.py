"""The dashboard runs the same queries however many pairs, meetings, requests and actions."""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from matching.models import Mentorship
from meetings.models import ActionItem, Meeting
from tests.matching.conftest import make_mentee, make_mentor, send


def count(client) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/")
    assert response.status_code == 200
    return len(captured), response.text


def add_pair(mentor, i: int) -> None:
    mentee = make_mentee(f"dash{i}@example.org", f"Dash Mentee {i}")
    pair = Mentorship.objects.create(mentor=mentor, mentee=mentee)
    Meeting.objects.create(mentorship=pair, starts_at=timezone.now() + timedelta(days=i + 1))
    ActionItem.objects.create(mentorship=pair, owner=mentor, text=f"Send article {i}")
    send(make_mentee(f"asker{i}@example.org", f"Asker {i}"), mentor)


def test_dashboard_queries_do_not_grow_with_items(client, db):
    mentor = make_mentor("dash-mentor@example.org", "Dana Mentor", capacity=10)
    client.force_login(mentor)
    add_pair(mentor, 0)
    client.get("/")
    few, _ = count(client)
    for i in range(1, 5):
        add_pair(mentor, i)
    many, text = count(client)
    assert many == few
    assert text.count("Mentoring Dash Mentee") == 5
    assert text.count("From Asker") == 5
    assert text.count("Send article") == 5


def test_a_program_admin_sees_their_cohorts_not_a_mentees_to_do_list(client, db):
    from cohorts.models import Cohort, Enrollment
    from tests.conftest import make_person

    ada = make_person("ada@example.org", name="Ada Admin")  # no profile roles, never onboarded
    cohort = Cohort.objects.create(name="January mentoring month", slug="january")
    cohort.admins.add(ada)
    for i, status in enumerate(["joined", "joined", "invited"]):
        person = make_mentee(f"p{i}@example.org", f"Person {i}")
        Enrollment.objects.create(cohort=cohort, email=person.email, user=person, status=status)
    client.force_login(ada)
    response = client.get("/")
    assert response.status_code == 200  # not sent to the mentee/mentor onboarding
    text = response.text
    assert "January mentoring month" in text and "2 joined, 1 invited · 0 pairs going" in text
    assert "complete" not in text.lower()  # no "Profile 0% complete"
    assert "Your action items" not in text
