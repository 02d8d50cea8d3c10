from django import template

from meetings.models import Closure

register = template.Library()


@register.inclusion_tag("meetings/_thanks.html")
def thank_you_notes(mentor) -> dict:
    """The thank-you notes a mentor chose to show on their profile (one query)."""
    notes = (
        Closure.objects.filter(mentorship__mentor=mentor, show_thank_you=True)
        .exclude(thank_you="")
        .select_related("mentorship__mentee")
        .order_by("-closed_at")[:10]
    )
    return {"notes": list(notes)}
