"""Every web process keeps the site's mentor features until a mentor-side change bumps their
version: a mentee's profile saved changes nothing, a mentor's (or someone becoming or ceasing to
be one) does."""

from django.core.cache import cache

from matching import loader
from profiles.models import Profile
from tests.conftest import make_person
from tests.matching.conftest import make_mentee, make_mentor


def version() -> str:
    loader.mentor_features()  # makes sure a version exists
    return cache.get(loader.VERSION_KEY)


def test_a_mentees_profile_saved_keeps_the_mentor_features_and_a_mentors_bumps_them(db):
    mentee, mentor = make_mentee("mina@example.org", "Mina"), make_mentor("marco@example.org", "M")
    before = version()
    mentee.profile.bio = "I want to lead a team."
    mentee.profile.save()
    Profile.objects.create(user=make_person("new@example.org", name="New Person"))
    assert version() == before

    mentor.profile.bio = "Twenty years of hiring."
    mentor.profile.save()
    assert version() != before

    before = version()
    mentee.profile.is_mentor = True  # becoming a mentor
    mentee.profile.save()
    assert version() != before
    before = version()
    mentee.profile.is_mentor = False  # and ceasing to be one
    mentee.profile.save()
    assert version() != before
