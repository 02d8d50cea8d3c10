"""The language list is a literal generated from pycountry; it must not drift from it."""

import pycountry

from profiles.languages import LANGUAGES


def test_the_language_list_equals_pycountrys_two_letter_languages_sorted_by_name():
    expected = sorted(
        ((lang.alpha_2, lang.name) for lang in pycountry.languages if hasattr(lang, "alpha_2")),
        key=lambda item: item[1],
    )
    assert list(LANGUAGES.items()) == expected
