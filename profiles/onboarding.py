"""Onboarding steps and the completeness meter: what a person still has to tell us."""

from dataclasses import dataclass

from django.urls import reverse

from profiles.models import Profile


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    url_name: str

    @property
    def url(self) -> str:
        return reverse(self.url_name) + "?onboarding=1"


ROLES = Step("roles", "Your roles", "profiles:welcome")
ABOUT = Step("profile", "About you", "profiles:edit")
GOALS = Step("goals", "Your goals", "profiles:goals")
OFFER = Step("offer", "What you offer", "profiles:offer")
AVAILABILITY = Step("availability", "When you are free", "profiles:availability")


def steps_for(profile: Profile) -> list[Step]:
    steps = [ROLES, ABOUT]
    if profile.is_mentee:
        steps.append(GOALS)
    if profile.is_mentor:
        steps.append(OFFER)
    steps.append(AVAILABILITY)
    return steps


def next_step(profile: Profile, after: str) -> Step | None:
    keys = [s.key for s in steps_for(profile)]
    if after not in keys:
        return None
    index = keys.index(after) + 1
    return steps_for(profile)[index] if index < len(keys) else None


@dataclass(frozen=True)
class Completeness:
    percent: int
    missing: list[tuple[str, str]]  # (what is missing, where to add it)


def completeness(
    profile: Profile, *, open_goals: int, expertise: int, has_offer: bool, windows: int
) -> Completeness:
    """Counts are passed in so callers that list many people can fetch them in one query."""
    checks = [
        (bool(profile.is_mentee or profile.is_mentor), "Choose your roles", "profiles:welcome"),
        (bool(profile.headline), "Add a headline", "profiles:edit"),
        (bool(profile.bio), "Write a short bio", "profiles:edit"),
        (bool(profile.languages), "Add the languages you speak", "profiles:edit"),
        (bool(profile.organisation), "Add your organisation", "profiles:edit"),
        (windows > 0, "Mark when you are free each week", "profiles:availability"),
    ]
    if profile.is_mentee:
        checks.append((open_goals > 0, "Write at least one open goal", "profiles:goals"))
    if profile.is_mentor:
        checks.append((has_offer, "Say how much time you can give", "profiles:offer"))
        checks.append((expertise > 0, "List the skills you can teach", "profiles:offer"))
    done = sum(1 for ok, _, _ in checks if ok)
    return Completeness(
        percent=round(100 * done / len(checks)),
        missing=[(label, reverse(url)) for ok, label, url in checks if not ok],
    )


def completeness_of(profile: Profile) -> Completeness:
    user = profile.user
    return completeness(
        profile,
        open_goals=user.goals.open().count() if profile.is_mentee else 0,
        expertise=user.expertise.count() if profile.is_mentor else 0,
        has_offer=hasattr(user, "offer") if profile.is_mentor else False,
        windows=user.availability.count(),
    )
