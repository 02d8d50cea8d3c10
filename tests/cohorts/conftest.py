"""A cohort run by Ada, and a signed-in client for her."""

import pytest

from cohorts.models import Cohort, Enrollment
from tests.conftest import make_person


@pytest.fixture
def admin(db):
    return make_person("ada@example.org", name="Ada Admin")


@pytest.fixture
def cohort(admin):
    cohort = Cohort.objects.create(name="January mentoring month", slug="january")
    cohort.admins.add(admin)
    return cohort


@pytest.fixture
def signed_in(client, admin):
    client.force_login(admin)
    return client


def enrol(cohort, user, role, status="joined"):
    return Enrollment.objects.create(
        cohort=cohort, email=user.email, user=user, role=role, status=status
    )
