from datetime import timedelta

from django import template

register = template.Library()


@register.filter
def timedelta_words(value: timedelta | None) -> str:
    """A wait in words people use: "an hour", "5 hours", "2 days"."""
    if value is None:
        return ""
    hours = value.total_seconds() / 3600
    if hours < 1.5:
        return "an hour"
    if hours < 36:
        return f"{round(hours)} hours"
    days = round(hours / 24)
    return f"{days} days"
