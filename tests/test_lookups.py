"""`field__any=ids` selects what `field__in=ids` selects, with one array parameter on
PostgreSQL instead of a placeholder per id."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from profiles.models import Profile, User
from tests.conftest import make_person


def test_any_selects_what_in_selects_with_one_parameter(db):
    people = [make_person(f"p{i}@example.org", name=f"Person {i}") for i in range(5)]
    for person in people[:4]:
        Profile.objects.create(user=person)
    wanted = [people[0].pk, people[2].pk, people[4].pk, 10**9]
    with CaptureQueriesContext(connection) as queries:
        found = set(Profile.objects.filter(user_id__any=wanted).values_list("user_id", flat=True))
        by_relation = set(
            Profile.objects.filter(user__any=wanted).values_list("user_id", flat=True)
        )
        by_key = set(User.objects.filter(pk__any=wanted).values_list("pk", flat=True))
    assert found == by_relation == {people[0].pk, people[2].pk}
    assert by_key == {people[0].pk, people[2].pk, people[4].pk}
    assert found == set(
        Profile.objects.filter(user_id__in=wanted).values_list("user_id", flat=True)
    )
    assert "ANY(" in queries[0]["sql"] and queries[0]["sql"].count(str(people[0].pk)) == 1
    assert not Profile.objects.filter(user_id__any=[]).exists()
