"""Domain operations on profiles that touch several models at once."""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction

from profiles.models import Expertise, Goal, Skill


def merged_synonyms(keep: Skill, others: list[Skill]) -> list[str]:
    """keep's synonyms, then each other skill's name and synonyms: first spelling wins, duplicates
    are compared case-insensitively, and keep's own name is never its own synonym."""
    seen = {keep.name.strip().casefold()}
    result: list[str] = []
    candidates = list(keep.synonyms or [])
    for other in others:
        candidates += [other.name, *(other.synonyms or [])]
    for candidate in candidates:
        if not isinstance(candidate, str):
            continue
        text = candidate.strip()
        key = text.casefold()
        if text and key not in seen:
            seen.add(key)
            result.append(text)
    return result


@transaction.atomic
def merge_skills(*, keep: Skill, others: list[Skill]) -> Skill:
    """Fold `others` into `keep`, then delete them.

    Goals that named another skill name `keep` instead (once). Expertise moves to `keep`; when a
    person ends up with several rows for it (they already had `keep`, or had two of the merged
    skills), one row remains with the highest level and the most years. The others' names and
    synonyms become synonyms of `keep`.
    """
    other_ids = {other.pk for other in others}
    if keep.pk in other_ids:
        raise ValueError("The skill to keep cannot also be one of the skills merged into it.")
    if not other_ids:
        return keep

    # Lock every skill involved so that two staff merging overlapping sets cannot interleave.
    locked = {
        skill.pk: skill
        for skill in Skill.objects.select_for_update().filter(pk__in=[keep.pk, *other_ids])
    }
    if keep.pk not in locked or not other_ids <= locked.keys():
        raise Skill.DoesNotExist("A skill to merge no longer exists; reload the page.")
    keep = locked[keep.pk]
    others = [locked[pk] for pk in dict.fromkeys(other.pk for other in others)]  # caller's order

    # Goals: Goal.skills is a plain many-to-many, so work on its through table directly.
    links = Goal.skills.through.objects
    goal_ids = set(links.filter(skill_id__in=other_ids).values_list("goal_id", flat=True))
    has_keep = set(
        links.filter(skill_id=keep.pk, goal_id__in=goal_ids).values_list("goal_id", flat=True)
    )
    links.bulk_create(
        [Goal.skills.through(goal_id=goal_id, skill_id=keep.pk) for goal_id in goal_ids - has_keep]
    )
    links.filter(skill_id__in=other_ids).delete()

    # Expertise: at most one row per (user, skill), so collapse each person's rows into one.
    rows_by_user: dict[int, list[Expertise]] = defaultdict(list)
    for row in Expertise.objects.select_for_update().filter(skill_id__in=[keep.pk, *other_ids]):
        rows_by_user[row.user_id].append(row)
    for rows in rows_by_user.values():
        # The surviving row: the one already on `keep`, else the highest level among the others.
        survivor = max(rows, key=lambda row: (row.skill_id == keep.pk, row.level, row.years))
        level = max(row.level for row in rows)
        years = max(row.years for row in rows)
        extra = [row.pk for row in rows if row.pk != survivor.pk]
        if extra:
            Expertise.objects.filter(pk__in=extra).delete()
        if (survivor.skill_id, survivor.level, survivor.years) != (keep.pk, level, years):
            survivor.skill_id, survivor.level, survivor.years = keep.pk, level, years
            survivor.save(update_fields=["skill", "level", "years"])

    keep.synonyms = merged_synonyms(keep, others)
    keep.save(update_fields=["synonyms"])
    Skill.objects.filter(pk__in=other_ids).delete()
    return keep
