from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from conversations.actions import unread_count

# Shown as their icon alone, with a tooltip, so that the navigation fits one line.
COMPACT = frozenset({"Notifications", "My profile", "Account"})


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    current: bool
    icon: str = ""  # a symbol of static/icons/sprite.svg
    counter: bool = False  # shows the unread count beside it
    compact: bool = False  # the icon alone on wide screens (the label stays for screen readers)


def navigation(request: HttpRequest) -> dict:
    """The main navigation, fitted to who is signed in and what they may open. It lives in the
    project package because it links every app. Lazy: an htmx fragment (the badge's poll among
    them) that shows no navigation asks the database nothing for it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    return {
        "nav_items": SimpleLazyObject(lambda: _items(request, user)),
        # Counted only when a page shows it (one indexed count); htmx then polls for it.
        "unread_count": SimpleLazyObject(lambda: unread_count(user)),
        "notifications_poll_seconds": settings.NOTIFICATIONS_POLL_SECONDS,
    }


def _items(request: HttpRequest, user) -> list[NavItem]:
    notifications = reverse("conversations:notifications")
    items = [
        ("Dashboard", reverse("home"), "home"),
        ("Find a mentor", reverse("matching:find"), "search"),
        ("Requests", reverse("matching:requests"), "inbox"),
        ("Mentorships", reverse("matching:mentorships"), "handshake"),
        ("Notifications", notifications, "bell"),
        ("Community", reverse("community:events"), "calendar"),
        ("People", reverse("profiles:people"), "users"),
        ("My profile", reverse("profiles:me"), "user"),
    ]
    if user.is_staff or user.cohorts_admin.exists():
        items.append(("Cohorts", reverse("cohorts:list"), "layers"))
    if user.is_staff:
        items.append(("Admin", reverse("admin:index"), "shield"))
        if settings.DEBUG:
            items.append(("Outbox", reverse("profiles:outbox"), "mail"))
    items.append(("Account", reverse("account_email"), "settings"))
    path = request.path
    # The community's pages (events, circles, stories) share one item.
    if path.startswith(("/circles/", "/stories/")):
        path = reverse("community:events")
    return [
        NavItem(
            label,
            url,
            path == url or (url != "/" and path.startswith(url)),
            icon,
            counter=url == notifications,
            compact=label in COMPACT,
        )
        for label, url, icon in items
    ]
