"""Deployment checks of our own (`manage.py check --deploy`)."""

import os

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def email_is_configured(app_configs, **kwargs) -> list[Error]:
    """Production must send email through a real server: without EMAIL_URL the console backend
    would print every message, password-reset links included, to the worker's log."""
    if settings.DEBUG or os.environ.get("EMAIL_URL"):
        return []
    return [
        Error(
            "EMAIL_URL is not set: emails (with their sign-in and password-reset links) would be "
            "printed to the log instead of sent.",
            hint="Set EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.org:587.",
            id="mentorship.E001",
        )
    ]
