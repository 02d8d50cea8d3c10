"""The cohort health page's charts: every bar has its label and its number written beside it, the
chart is named by its caption, a table holds the same rows for screen readers, and a chart with
nothing to show is a sentence instead."""

from __future__ import annotations

import pytest
from django.test.html import Element, parse_html
from django.urls import reverse

from cohorts import charts
from cohorts.models import Placement
from matching.models import Mentorship
from tests.cohorts.conftest import enrol
from tests.conftest import make_person

SCORE_LABELS = [f"{low} to {low + 10}" for low in range(0, 100, 10)]


@pytest.fixture
def four_mentees_three_placed(cohort):
    """Four mentees and two mentors joined; three pairs published, scored 0.42, 0.91, 0.95."""
    mentors = [make_person(f"mentor{i}@example.org", name=f"Mentor {i}") for i in range(2)]
    mentees = [make_person(f"mentee{i}@example.org", name=f"Mentee {i}") for i in range(4)]
    for mentor in mentors:
        enrol(cohort, mentor, "mentor")
    for mentee in mentees:
        enrol(cohort, mentee, "mentee")
    for mentor, mentee, score in [
        (mentors[0], mentees[0], 0.42),
        (mentors[0], mentees[1], 0.91),
        (mentors[1], mentees[2], 0.95),
    ]:
        mentorship = Mentorship.objects.create(mentor=mentor, mentee=mentee)
        Placement.objects.create(cohort=cohort, mentorship=mentorship, score=score)
    return cohort


def health_page(client, cohort) -> Element:
    response = client.get(reverse("cohorts:health", args=[cohort.slug]))
    assert response.status_code == 200
    return parse_html(response.content.decode())


def by_id(root: Element, id_: str) -> Element | None:
    return next((e for e in walk(root) if e.attributes and ("id", id_) in e.attributes), None)


def walk(node):
    if isinstance(node, Element):
        yield node
        for child in node.children:
            yield from walk(child)


def all_named(node: Element, name: str) -> list[Element]:
    return [e for e in walk(node) if e.name == name]


def text(node) -> str:
    if isinstance(node, str):
        return node
    return " ".join(text(child) for child in node.children).strip()


def attr(node: Element, name: str) -> str | None:
    return dict(node.attributes).get(name)


def drawn_rows(chart: Element) -> list[tuple[str, str]]:
    """(label, value) as written in the SVG: each bar's group holds its two texts."""
    svg = all_named(chart, "svg")[0]
    return [tuple(text(t) for t in all_named(group, "text")) for group in all_named(svg, "g")]


def table_rows(chart: Element) -> list[tuple[str, str]]:
    body = all_named(chart, "tbody")[0]
    rows = []
    for row in all_named(body, "tr"):
        header, cell = all_named(row, "th")[0], all_named(row, "td")[0]
        assert attr(header, "scope") == "row"
        rows.append((text(header), text(cell)))
    return rows


def assert_named_by_its_caption(page: Element, key: str, title: str) -> None:
    chart = by_id(page, f"{key}-chart")
    svg = all_named(chart, "svg")[0]
    assert attr(svg, "role") == "img"
    caption = by_id(page, attr(svg, "aria-labelledby"))
    assert caption is not None and text(caption) == title
    table = by_id(page, f"{key}-table")
    assert text(all_named(table, "caption")[0]) == title
    assert [attr(th, "scope") for th in all_named(all_named(table, "thead")[0], "th")] == [
        "col",
        "col",
    ]


def test_the_score_chart_writes_every_bin_and_its_count_beside_its_bar(
    signed_in, four_mentees_three_placed
):
    page = health_page(signed_in, four_mentees_three_placed)
    chart = by_id(page, "scores-chart")

    expected = [(label, "0") for label in SCORE_LABELS]
    expected[4] = ("40 to 50", "1")
    expected[9] = ("90 to 100", "2")
    assert drawn_rows(chart) == expected


def test_the_score_table_holds_the_same_rows_as_the_chart(signed_in, four_mentees_three_placed):
    page = health_page(signed_in, four_mentees_three_placed)
    chart = by_id(page, "scores-chart")

    assert table_rows(chart) == drawn_rows(chart)
    headers = [text(th) for th in all_named(all_named(chart, "thead")[0], "th")]
    assert headers == ["Score", "Pairs"]


def test_the_matched_chart_writes_counts_and_shares_of_all_mentees(
    signed_in, four_mentees_three_placed
):
    page = health_page(signed_in, four_mentees_three_placed)
    chart = by_id(page, "matched-chart")

    expected = [("Matched", "3 (75%)"), ("Not matched", "1 (25%)")]
    assert drawn_rows(chart) == expected
    assert table_rows(chart) == expected


def test_each_chart_is_an_image_named_by_its_caption_with_a_captioned_table(
    signed_in, four_mentees_three_placed
):
    page = health_page(signed_in, four_mentees_three_placed)

    assert_named_by_its_caption(page, "matched", "Mentees matched: 3 of 4")
    assert_named_by_its_caption(page, "scores", "Published pairs by match score (out of 100)")


def test_the_tables_are_hidden_only_visually(signed_in, four_mentees_three_placed):
    page = health_page(signed_in, four_mentees_three_placed)

    for key in ["matched", "scores"]:
        wrapper = next(
            e
            for e in walk(by_id(page, f"{key}-chart"))
            if by_id(e, f"{key}-table") is not None and attr(e, "class") == "visually-hidden"
        )
        assert attr(wrapper, "aria-hidden") is None


def test_a_cohort_without_mentees_or_pairs_shows_sentences_instead_of_charts(signed_in, cohort):
    page = health_page(signed_in, cohort)

    assert text(by_id(page, "matched-empty")) == "No mentees in this cohort yet."
    assert "Publish pairs" in text(by_id(page, "scores-empty"))
    assert by_id(page, "matched-chart") is None and by_id(page, "scores-chart") is None
    charts = [svg for svg in all_named(page, "svg") if attr(svg, "role") == "img"]  # not icons
    assert charts == [] and all_named(page, "table") == []


def test_published_pairs_without_scores_show_no_empty_score_chart(signed_in, cohort):
    mentor = make_person("mentor@example.org", name="Mentor")
    mentee = make_person("mentee@example.org", name="Mentee")
    enrol(cohort, mentor, "mentor")
    enrol(cohort, mentee, "mentee")
    mentorship = Mentorship.objects.create(mentor=mentor, mentee=mentee)
    Placement.objects.create(cohort=cohort, mentorship=mentorship, score=None)

    page = health_page(signed_in, cohort)

    assert by_id(page, "scores-chart") is None
    assert by_id(page, "scores-empty") is not None
    assert drawn_rows(by_id(page, "matched-chart")) == [
        ("Matched", "1 (100%)"),
        ("Not matched", "0 (0%)"),
    ]


def test_someone_who_does_not_run_the_cohort_cannot_see_its_charts(client, member, cohort):
    client.force_login(member)

    response = client.get(reverse("cohorts:health", args=[cohort.slug]))

    assert response.status_code == 404


def test_a_perfect_score_counts_in_the_top_bin_and_bars_scale_to_the_longest():
    chart = charts.histogram([1.0, 0.95, 0.05], bins=10)

    assert [bar.value for bar in chart.bars] == [1, 0, 0, 0, 0, 0, 0, 0, 0, 2]
    assert chart.bars[9].length == pytest.approx(2 * chart.bars[0].length)
    assert chart.bars[1].length == 0


def test_the_share_never_counts_more_matched_mentees_than_there_are():
    chart = charts.share_bar(5, 4)

    assert [(bar.label, bar.text) for bar in chart.bars] == [
        ("Matched", "4 (100%)"),
        ("Not matched", "0 (0%)"),
    ]
    assert chart.bars[0].value_x < chart.width


def test_no_mentees_makes_an_empty_share():
    assert charts.share_bar(0, 0).is_empty
