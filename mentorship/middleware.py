"""Request-wide rules: a plain 503 while a backing service is away, no NUL bytes in what people
send, and signed-in pages never stored by a shared cache."""

from __future__ import annotations

import logging
import sys
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views import defaults

logger = logging.getLogger(__name__)
RETRY_AFTER = 10  # seconds: Redis or PostgreSQL coming back after a restart or a failover


def service_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean a backing service is away for a moment, not a bug: PostgreSQL
    unreachable or its connection cut, Redis (cache, broker) unreachable."""
    errors: list[type[BaseException]] = [OperationalError, InterfaceError]
    try:
        import redis

        errors += [redis.exceptions.ConnectionError, redis.exceptions.TimeoutError]
    except ImportError:  # pragma: no cover - redis is a dependency
        pass
    from kombu.exceptions import OperationalError as BrokerError

    errors.append(BrokerError)
    return tuple(errors)


def unavailable(request: HttpRequest | None = None) -> HttpResponse:
    body = render_to_string("503.html", request=None)
    response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER)
    patch_cache_control(response, no_store=True)
    return response


class ServiceUnavailableMiddleware:
    """A database or Redis that is briefly away answers "try again in a moment" (503), never a
    500. Views run their changes in transactions, so what failed was not half-saved."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.errors = service_errors()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        except self.errors as error:  # raised before the view (sessions, auth, rate limits)
            return self._answer(request, error)

    def process_exception(self, request: HttpRequest, error: Exception) -> HttpResponse | None:
        if isinstance(error, self.errors):
            return self._answer(request, error)
        return None

    def _answer(self, request: HttpRequest, error: BaseException) -> HttpResponse:
        logger.warning("503 for %s %s: %r", request.method, request.path, error)
        return unavailable(request)


def _has_nul(values) -> bool:
    return any("\x00" in value for _, items in values.lists() for value in items)


class RejectNulMiddleware:
    """A NUL byte in the query string or a form field is never meant: 400, before any view (or
    PostgreSQL, which refuses NUL in text) sees it."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or _has_nul(request.GET):
            return HttpResponseBadRequest("A NUL character is not allowed in a request.")
        # Only url-encoded forms: reading a multipart body here would read an upload before the
        # view can refuse it from its size; views that take multipart forms check their fields.
        if (
            request.method == "POST"
            and request.content_type == "application/x-www-form-urlencoded"
            and _has_nul(request.POST)
        ):
            return HttpResponseBadRequest("A NUL character is not allowed in a form.")
        return self.get_response(request)


class TimezoneMiddleware:
    """Every date and time a signed-in person reads is in their own time zone (their profile's):
    templates' |date and |time, and forms' datetime fields, follow the active zone."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = zone_of(getattr(request, "user", None))
        if zone:
            timezone.activate(zone)
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


def zone_of(user) -> ZoneInfo | None:
    """The person's own time zone, or None (not signed in, no profile, an unknown zone)."""
    if user is None or not user.is_authenticated:
        return None
    from profiles.models import Profile

    name = Profile.objects.filter(user=user).values_list("timezone", flat=True).first()
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


class PrivateCacheMiddleware:
    """Pages for a signed-in person are theirs alone: Cache-Control: private, no-store."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        try:
            signed_in = user is not None and user.is_authenticated
        except DatabaseError:  # the user could not be loaded (the database is away): assume so
            signed_in = True
        if signed_in:
            patch_cache_control(response, private=True, no_store=True)
        return response


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: an outage that escaped every middleware (raised in one of them, on the way
    out) is still the 503 page, not a 500."""
    error = sys.exc_info()[1]
    if isinstance(error, service_errors()) and not (
        isinstance(error, DatabaseError)
        and not isinstance(error, (OperationalError, InterfaceError))
    ):
        logger.warning("503 for %s %s: %r", request.method, request.path, error)
        return unavailable(request)
    return defaults.server_error(request)
