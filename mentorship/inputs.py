"""Reading ids and numbers people (or their browsers) send: one rule for the whole app."""

from __future__ import annotations


def is_id(value: object) -> bool:
    """A whole number a database id can be: str.isdigit() alone is also true of "²", which int()
    refuses, and of 5,000 digits, which it refuses too."""
    text = str(value).strip()
    return text.isascii() and text.isdigit() and len(text) <= 18


def as_id(value: object) -> int | None:
    """The id in `value`, or None when it is not one."""
    return int(str(value).strip()) if is_id(value) else None
