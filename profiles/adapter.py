from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from allauth.account import app_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.core.ratelimit import respond_429
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from profiles.mail import queue_email


@dataclass(frozen=True)
class Site:
    """What allauth's email templates read as `current_site`, taken from settings: the app does
    not use django.contrib.sites, and a request's Host header is not the site's address."""

    name: str
    domain: str


def current_site() -> Site:
    return Site(name=settings.SITE_NAME, domain=urlsplit(settings.SITE_URL).netloc)


def on_site(url: str) -> str:
    """A link allauth built from the request's host, moved to SITE_URL: emails point at the
    site's public address, whatever Host or port the request came in on."""
    path = urlunsplit(("", "", *urlsplit(url)[2:]))
    return settings.SITE_URL + path


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """allauth's messages (verification, password reset, ...) go through our outbox and
        Celery like every other email, naming the site and linking to SITE_URL. Every link
        allauth passes to its templates is a context entry named `..._url`."""
        context = {
            "request": self.request,
            "email": email,
            "current_site": current_site(),
            "site_name": settings.SITE_NAME,
            "site_url": settings.SITE_URL,
            **context,
        }
        context.update(
            {
                key: on_site(value)
                for key, value in context.items()
                if key.endswith("_url") and key != "site_url" and isinstance(value, str)
            }
        )
        message = self.render_mail(template_prefix, email, context)
        queue_email(message=message, kind=template_prefix)

    def format_email_subject(self, subject: str) -> str:
        """allauth's subjects start with "[<SITE_NAME>] " (or ACCOUNT_EMAIL_SUBJECT_PREFIX when
        set): allauth's own default takes the name from django.contrib.sites or the Host."""
        prefix = app_settings.EMAIL_SUBJECT_PREFIX
        if prefix is None:
            prefix = f"[{settings.SITE_NAME}] "
        return prefix + subject

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        """Too many failed logins is a refusal, not a form error: answer HTTP 429."""
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError as error:
            if error.code == "too_many_login_attempts":
                raise ImmediateHttpResponse(respond_429(request)) from error
            raise
