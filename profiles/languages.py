"""ISO 639-1 languages, from pycountry: code -> English name, sorted by name."""

import pycountry

LANGUAGES: dict[str, str] = dict(
    sorted(
        ((lang.alpha_2, lang.name) for lang in pycountry.languages if hasattr(lang, "alpha_2")),
        key=lambda item: item[1],
    )
)
