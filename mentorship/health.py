"""Liveness for the container healthcheck: GET /healthz answers 200 once the database is reachable.

`python -m mentorship.health [URL]` is the probe docker-compose.yml runs inside the web container.
It speaks to gunicorn the way the proxy does: with a Host that ALLOWED_HOSTS accepts and
X-Forwarded-Proto: https, so neither the host check nor the HTTPS redirect turns it away.
"""

import http.client
import json
import os
import sys
from urllib.parse import urlsplit

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

DEFAULT_URL = "http://127.0.0.1:8000/healthz"


@never_cache
@require_safe
def health(request: HttpRequest) -> JsonResponse:
    try:
        connection.ensure_connection()
    except DatabaseError:
        return JsonResponse({"status": "error"}, status=503)
    return JsonResponse({"status": "ok"})


def _allowed_host() -> str:
    """The first ALLOWED_HOSTS entry usable as a Host header (".example.org" gives example.org)."""
    for entry in os.environ.get("ALLOWED_HOSTS", "").split(","):
        host = entry.strip().lstrip(".")
        if host and host != "*":
            return host
    return "localhost"


def probe(url: str = DEFAULT_URL, timeout: float = 5.0) -> bool:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        conn.request(
            "GET",
            parts.path or "/",
            headers={"Host": _allowed_host(), "X-Forwarded-Proto": "https"},
        )
        response = conn.getresponse()
        body = response.read()
    except OSError as exc:
        print(f"healthcheck: {url}: {exc}", file=sys.stderr)
        return False
    finally:
        conn.close()
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    ok = response.status == 200 and isinstance(payload, dict) and payload.get("status") == "ok"
    if not ok:
        print(f"healthcheck: {url}: {response.status} {body[:200]!r}", file=sys.stderr)
    return ok


if __name__ == "__main__":
    sys.exit(0 if probe(*sys.argv[1:2]) else 1)
