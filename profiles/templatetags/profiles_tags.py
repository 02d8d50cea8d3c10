import nh3
from django import template
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

from profiles.languages import LANGUAGES

register = template.Library()

# CommonMark without raw HTML; nh3 then keeps only these tags, whatever the parser produced.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).disable("image")
ALLOWED_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "a", "code", "pre", "blockquote"}


@register.filter
def markdown(text: str) -> SafeString:
    """Render a person's markdown (bio, goal descriptions) to sanitised HTML."""
    html = _markdown.render(text or "")
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
