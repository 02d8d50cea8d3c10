"""The skills taxonomy seeded by profiles/migrations/0003_skill_taxonomy.py."""

from collections import Counter

from django.utils.text import slugify

from profiles.models import Skill

CATEGORIES = {
    "Engineering",
    "Data",
    "Product",
    "Design",
    "Program management",
    "Business operations",
    "Leadership",
    "People management",
    "Finance",
    "Careers",
    "Communication",
    "Writing",
    "Entrepreneurship",
    "Personal finance",
    "Sales and marketing",
    "Wellbeing",
}


def test_the_taxonomy_holds_at_least_150_skills(db):
    assert Skill.objects.count() >= 150


def test_every_category_has_at_least_five_skills_and_there_are_no_others(db):
    per_category = Counter(Skill.objects.values_list("category", flat=True))

    assert set(per_category) == CATEGORIES
    assert all(count >= 5 for count in per_category.values()), per_category


def test_slugs_are_unique_and_made_from_the_names(db):
    skills = list(Skill.objects.all())
    slugs = [skill.slug for skill in skills]

    assert len(slugs) == len(set(slugs))
    wrong = [(skill.name, skill.slug) for skill in skills if skill.slug != slugify(skill.name)]
    assert not wrong
    assert all(skill.slug for skill in skills)


def test_names_are_unique_even_ignoring_case(db):
    names = [name.casefold() for name in Skill.objects.values_list("name", flat=True)]

    assert len(names) == len(set(names))


def test_synonyms_are_lists_of_non_empty_strings_that_name_no_other_skill(db):
    skills = list(Skill.objects.all())
    names = {skill.name.casefold() for skill in skills}
    seen: Counter[str] = Counter()

    for skill in skills:
        assert isinstance(skill.synonyms, list), skill.name
        assert all(isinstance(s, str) and s.strip() for s in skill.synonyms), skill.name
        for synonym in skill.synonyms:
            assert synonym.casefold() not in names, (skill.name, synonym)
            seen[synonym.casefold()] += 1
    shared = [synonym for synonym, count in seen.items() if count > 1]
    assert not shared, "a synonym should point to one skill only"


def test_the_career_skills_mentees_ask_for_most_exist(db):
    slugs = set(Skill.objects.filter(category="Careers").values_list("slug", flat=True))

    assert {
        "interview-preparation",
        "career-change",
        "promotion",
        "salary-negotiation",
        "returning-to-work",
    } <= slugs


def test_people_find_skills_by_the_names_they_type(db):
    assert "k8s" in Skill.objects.get(slug="kubernetes").synonyms
    assert {"py", "python3"} <= set(Skill.objects.get(slug="python").synonyms)
    assert "interview prep" in Skill.objects.get(slug="interview-preparation").synonyms
