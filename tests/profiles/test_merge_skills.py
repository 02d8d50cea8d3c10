"""Staff merge duplicate skills: profiles.services.merge_skills and its admin action."""

import pytest
from django.contrib.messages import get_messages
from django.db import IntegrityError
from django.db.models import QuerySet
from django.urls import reverse

from profiles.models import Expertise, Goal, Skill
from profiles.services import merge_skills
from tests.conftest import make_person

CHANGELIST = reverse("admin:profiles_skill_changelist")
MERGE = reverse("admin:profiles_skill_merge")


def skill(name: str, *synonyms: str, category: str = "Engineering") -> Skill:
    slug = "test-" + name.lower().replace(" ", "-").replace(".", "")
    return Skill.objects.create(name=name, slug=slug, category=category, synonyms=list(synonyms))


@pytest.fixture
def site_admin(staff):
    staff.is_superuser = True
    staff.save()
    return staff


def test_merging_moves_goals_to_the_kept_skill_once(member, outsider):
    keep, typo, other = skill("Pythonic code", "idiomatic python"), skill("Pyhton"), skill("Py3")
    both = Goal.objects.create(owner=member, title="Write better Python")
    both.skills.set([keep, typo, other])
    only_typo = Goal.objects.create(owner=outsider, title="Learn Python")
    only_typo.skills.set([typo])
    unrelated = Goal.objects.create(owner=outsider, title="Get promoted")

    merge_skills(keep=keep, others=[typo, other])

    assert list(both.skills.all()) == [keep]
    assert list(only_typo.skills.all()) == [keep]
    assert not unrelated.skills.exists()
    assert Goal.skills.through.objects.filter(skill=keep).count() == 2


def test_merging_moves_expertise_of_people_who_lack_the_kept_skill(member):
    keep, dup = skill("Public speaking skills"), skill("Presenting on stage")
    Expertise.objects.create(user=member, skill=dup, level=3, years=4)

    merge_skills(keep=keep, others=[dup])

    row = Expertise.objects.get(user=member)
    assert (row.skill, row.level, row.years) == (keep, 3, 4)


def test_an_expertise_conflict_keeps_the_higher_level_and_the_most_years(member, outsider):
    keep, dup = skill("Kubernetes ops"), skill("K8s operations")
    Expertise.objects.create(user=member, skill=keep, level=2, years=6)
    Expertise.objects.create(user=member, skill=dup, level=4, years=1)
    Expertise.objects.create(user=outsider, skill=keep, level=5, years=2)
    Expertise.objects.create(user=outsider, skill=dup, level=1, years=9)

    merge_skills(keep=keep, others=[dup])

    assert Expertise.objects.filter(skill=keep).count() == 2
    assert Expertise.objects.get(user=member).level == 4
    assert Expertise.objects.get(user=member).years == 6
    assert (Expertise.objects.get(user=outsider).level, outsider.expertise.get().years) == (5, 9)


def test_one_person_with_two_merged_duplicates_ends_with_a_single_row(member):
    keep, first, second = skill("Go language"), skill("Golang dev"), skill("Go programming")
    Expertise.objects.create(user=member, skill=first, level=2, years=3)
    Expertise.objects.create(user=member, skill=second, level=3, years=1)

    merge_skills(keep=keep, others=[first, second])

    row = Expertise.objects.get(user=member)
    assert (row.skill, row.level, row.years) == (keep, 3, 3)


def test_merging_accumulates_names_and_synonyms_without_duplicates(db):
    keep = skill("Interview practice", "mock interviews", "Interview prep")
    dup = skill("Interview coaching", "INTERVIEW PREP", "interview practice", "job interviews")
    other = skill("Mock interviewing", "Interview Coaching", "", "case interviews")

    kept = merge_skills(keep=keep, others=[dup, other])

    expected = [
        "mock interviews",
        "Interview prep",
        "Interview coaching",
        "job interviews",
        "Mock interviewing",
        "case interviews",
    ]
    assert kept.synonyms == expected
    keep.refresh_from_db()
    assert keep.synonyms == expected


def test_merging_deletes_the_other_skills_and_nothing_else(member):
    keep, dup, bystander = skill("Giving feedback well"), skill("Feedback giving"), skill("Tact")
    Expertise.objects.create(user=member, skill=bystander, level=2)

    merge_skills(keep=keep, others=[dup])

    assert not Skill.objects.filter(pk=dup.pk).exists()
    assert Skill.objects.filter(pk__in=[keep.pk, bystander.pk]).count() == 2
    assert Expertise.objects.get(user=member).skill == bystander


def test_a_skill_cannot_be_merged_into_itself(db):
    keep, dup = skill("Rust systems"), skill("Rust lang")

    with pytest.raises(ValueError, match="cannot also be one of the skills"):
        merge_skills(keep=keep, others=[dup, keep])

    assert Skill.objects.filter(pk__in=[keep.pk, dup.pk]).count() == 2


def test_the_merge_is_one_transaction(member, monkeypatch):
    keep, dup = skill("Design systems work"), skill("Component libraries")
    goal = Goal.objects.create(owner=member, title="Build a design system")
    goal.skills.set([dup])

    original_delete = QuerySet.delete

    def delete_failing_for_skills(self):
        if self.model is Skill:
            raise IntegrityError("simulated failure at the very last step")
        return original_delete(self)

    monkeypatch.setattr(QuerySet, "delete", delete_failing_for_skills)
    with pytest.raises(IntegrityError):
        merge_skills(keep=keep, others=[dup])
    monkeypatch.undo()

    assert list(goal.skills.all()) == [dup]
    assert not Goal.skills.through.objects.filter(skill=keep).exists()
    keep.refresh_from_db()
    assert keep.synonyms == []


def test_staff_merge_skills_through_the_admin_action_and_confirmation_page(client, site_admin):
    mentor = make_person("mo@example.org", name="Mo Mentor")
    keep, dup, typo = (
        skill("Data viz", "charts"),
        skill("Dataviz skills"),
        skill("Data visualisaton"),
    )
    goal = Goal.objects.create(owner=mentor, title="Tell stories with data")
    goal.skills.set([dup, typo])
    Expertise.objects.create(user=mentor, skill=keep, level=2, years=1)
    Expertise.objects.create(user=mentor, skill=typo, level=4, years=3)
    client.force_login(site_admin)

    chosen = client.post(
        CHANGELIST,
        {"action": "merge_selected", "_selected_action": [keep.pk, dup.pk, typo.pk], "index": 0},
    )
    assert chosen.status_code == 302
    assert chosen.url.startswith(MERGE)

    page = client.get(chosen.url)
    assert page.status_code == 200
    assert page.templates[0].name == "admin/profiles/skill/merge.html"
    assert "Merge skills" in page.text
    for name in ("Data viz", "Dataviz skills", "Data visualisaton"):
        assert name in page.text
    # The most used skill is preselected.
    assert f'value="{typo.pk}" id="keep-{typo.pk}" required checked' in page.text

    done = client.post(MERGE, {"ids": page.context["ids"], "keep": keep.pk})

    assert done.status_code == 302
    assert done.url == CHANGELIST
    assert list(Skill.objects.filter(pk__in=[keep.pk, dup.pk, typo.pk])) == [keep]
    assert list(goal.skills.all()) == [keep]
    row = Expertise.objects.get(user=mentor)
    assert (row.skill, row.level, row.years) == (keep, 4, 3)
    keep.refresh_from_db()
    assert keep.synonyms == ["charts", "Data visualisaton", "Dataviz skills"]
    message = str(next(iter(get_messages(done.wsgi_request))))
    assert message == ("Merged 2 skills into “Data viz”: 1 goal and 1 expertise entry now use it.")


def test_the_confirmation_page_insists_on_a_skill_to_keep_from_the_selection(client, site_admin):
    first, second, stranger = skill("Scrum mastery"), skill("Scrum master"), skill("Kanban flow")
    client.force_login(site_admin)
    ids = f"{first.pk},{second.pk}"

    missing = client.post(MERGE, {"ids": ids})
    foreign = client.post(MERGE, {"ids": ids, "keep": stranger.pk})

    assert missing.status_code == foreign.status_code == 200
    assert "Choose the skill to keep." in missing.text
    assert "errornote" in foreign.text
    assert Skill.objects.filter(pk__in=[first.pk, second.pk, stranger.pk]).count() == 3


def test_merging_needs_at_least_two_skills(client, site_admin):
    only = skill("Lonely skill")
    client.force_login(site_admin)

    via_action = client.post(
        CHANGELIST, {"action": "merge_selected", "_selected_action": [only.pk], "index": 0}
    )
    via_page = client.get(f"{MERGE}?ids={only.pk}")

    assert via_action.status_code == via_page.status_code == 302
    assert via_page.url == CHANGELIST
    assert Skill.objects.filter(pk=only.pk).exists()


def test_the_skill_changelist_lists_filters_and_searches_skills(client, site_admin):
    client.force_login(site_admin)

    listed = client.get(CHANGELIST, {"q": "kubernetes"})
    filtered = client.get(CHANGELIST, {"category": "Careers"})

    assert listed.status_code == filtered.status_code == 200
    assert "Kubernetes" in listed.text
    assert "k8s" in listed.text
    assert "Interview preparation" in filtered.text
    assert "Kubernetes" not in filtered.text
    assert "Merge selected skills into the first chosen…" in listed.text


def test_a_member_who_is_not_staff_cannot_reach_the_skills_admin(client, member):
    dup, keep = skill("Sneaky one"), skill("Sneaky two")
    client.force_login(member)

    changelist = client.get(CHANGELIST)
    merge_page = client.get(f"{MERGE}?ids={dup.pk},{keep.pk}")
    merge_post = client.post(MERGE, {"ids": f"{dup.pk},{keep.pk}", "keep": keep.pk})

    for response in (changelist, merge_page, merge_post):
        assert response.status_code == 302
        assert response.url.startswith("/admin/login/?next=")
    assert Skill.objects.filter(pk__in=[dup.pk, keep.pk]).count() == 2


def test_staff_without_the_delete_permission_cannot_merge(client, staff):
    first, second = skill("Limited one"), skill("Limited two")
    client.force_login(staff)  # staff, but no model permissions

    response = client.get(f"{MERGE}?ids={first.pk},{second.pk}")

    assert response.status_code == 403
