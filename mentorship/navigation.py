from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    current: bool


def navigation(request: HttpRequest) -> dict[str, list[NavItem]]:
    """The main navigation, fitted to who is signed in and what they may open. It lives in the
    project package because it links every app."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = [
        ("Dashboard", reverse("home")),
        ("Find a mentor", reverse("matching:find")),
        ("Requests", reverse("matching:requests")),
        ("Mentorships", reverse("matching:mentorships")),
        ("People", reverse("profiles:people")),
        ("My profile", reverse("profiles:me")),
    ]
    if user.is_staff or user.cohorts_admin.exists():
        items.append(("Cohorts", reverse("cohorts:list")))
    if user.is_staff:
        items.append(("Admin", reverse("admin:index")))
        from django.conf import settings

        if settings.DEBUG:
            items.append(("Outbox", reverse("profiles:outbox")))
    items.append(("Account", reverse("account_email")))
    path = request.path
    return {
        "nav_items": [
            NavItem(label, url, path == url or (url != "/" and path.startswith(url)))
            for label, url in items
        ]
    }
