import zlib
from functools import cache

import nh3
from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from profiles.languages import LANGUAGES

register = template.Library()

ALLOWED_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "a", "code", "pre", "blockquote"}


@cache
def _parser():
    """CommonMark without raw HTML; nh3 then keeps only ALLOWED_TAGS, whatever the parser
    produced. Built on first use: importing markdown_it cost every process 0.1 s at start-up."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False}).disable("image")


@register.filter
def markdown(text: str) -> SafeString:
    """Render a person's markdown (bio, goal descriptions) to sanitised HTML."""
    html = _parser().render(text or "")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 just above


@register.filter
def hour_label(hour: int) -> str:
    return f"{hour:02d}:00"


@register.filter
def language_name(code: str) -> str:
    """An ISO 639-1 code as its English name ("ga" gives "Irish"); an unknown code as itself."""
    return LANGUAGES.get(code, code)


AVATAR_SIZES = {"sm": 32, "md": 48, "lg": 96}


@register.simple_tag
def avatar(person, profile=None, size: str = "md") -> SafeString:
    """A person's photo when they have one, else their initials on a colour of their own; the
    name beside it says who it is, so the picture itself is decorative (alt="")."""
    pixels = AVATAR_SIZES.get(size, 48)
    profile = profile if profile is not None else getattr(person, "profile", None)
    if profile is not None and profile.photo:
        version = zlib.crc32(profile.photo.name.encode()) & 0xFFFF
        return format_html(
            '<img class="avatar avatar-{}" src="{}?v={}" alt="" width="{}" height="{}">',
            size,
            reverse("profiles:photo", args=[person.pk]),
            version,
            pixels,
            pixels,
        )
    name = (getattr(person, "name", "") or getattr(person, "email", "") or "?").strip()
    initials = "".join(part[0] for part in name.split()[:2]).upper() or "?"
    tone = zlib.crc32(name.encode()) % 6
    return format_html(
        '<span class="avatar avatar-{} avatar-tone-{}" aria-hidden="true">{}</span>',
        size,
        tone,
        initials,
    )
