"""Messages, the notifications feed and announcements. A thread is read on its request's page or
its pair's page (only by its two people); these views write to it and answer htmx with the
conversation fragment. The feed and the unread badge are the signed-in person's own: no pk of
anyone else's reaches them."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from conversations import actions
from conversations.actions import ConversationError
from conversations.models import Message, Notification, Thread
from conversations.selectors import conversation

PER_PAGE = 25


def _thread(request: HttpRequest, pk: int) -> Thread:
    """A thread the signed-in person is one of the two people of; 404 for anyone else."""
    return get_object_or_404(
        Thread.objects.filter(participants__user=request.user).select_related(
            "request", "mentorship", "circle"
        ),
        pk=pk,
    )


def _answer(request: HttpRequest, thread: Thread, *, error: str = "", flash: str = ""):
    """The conversation fragment for htmx, else back to the page it is on."""
    if request.htmx:
        context = {
            "conversation": conversation(thread=thread, reader=request.user),
            "error": error,
            "flash": flash,
            "draft": request.POST.get("body", "") if error else "",
        }
        return TemplateResponse(
            request, "conversations/thread.html#conversation", context, status=400 if error else 200
        )
    if error:
        messages.error(request, error)
    elif flash:
        messages.success(request, flash)
    return redirect(actions.thread_url(thread))


@login_required
@require_POST
def post(request: HttpRequest, pk: int) -> HttpResponse:
    thread = _thread(request, pk)
    try:
        actions.post_message(thread=thread, author=request.user, body=request.POST.get("body", ""))
    except ConversationError as exc:
        return _answer(request, thread, error=str(exc))
    return _answer(request, thread)


def _message(thread: Thread, message_pk: int) -> Message:
    return get_object_or_404(Message.objects.filter(thread=thread), pk=message_pk)


@login_required
@require_POST
def edit(request: HttpRequest, pk: int, message_pk: int) -> HttpResponse:
    thread = _thread(request, pk)
    message = _message(thread, message_pk)
    try:
        actions.edit_message(message=message, by=request.user, body=request.POST.get("body", ""))
    except ConversationError as exc:
        return _answer(request, thread, error=str(exc))
    return _answer(
        request, thread, flash="Your message is changed; the earlier text stays visible."
    )


@login_required
@require_POST
def report(request: HttpRequest, pk: int, message_pk: int) -> HttpResponse:
    thread = _thread(request, pk)
    message = _message(thread, message_pk)
    try:
        actions.report_message(
            message=message, by=request.user, reason=request.POST.get("reason", "")
        )
    except ConversationError as exc:
        return _answer(request, thread, error=str(exc))
    return _answer(
        request,
        thread,
        flash="Thank you. The message is reported to the program staff, and neither of you can "
        "write in this conversation any more.",
    )


# The feed.


@login_required
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    rows = Notification.objects.filter(user=request.user).order_by("-created_at", "-pk")
    show = request.GET.get("show")
    if show == "unread":
        rows = rows.filter(read_at__isnull=True)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    return TemplateResponse(
        request,
        "conversations/notifications.html",
        {"page": page, "show": show},
    )


@login_required
@require_GET
def unread(request: HttpRequest) -> HttpResponse:
    """The badge, polled by htmx: one indexed count (see tests/load/bench_unread.py)."""
    return TemplateResponse(
        request,
        "conversations/notifications.html#unread-poll",
        {"unread_count": actions.unread_count(request.user)},
    )


def _read(request: HttpRequest, pk: int) -> Notification:
    """One of the signed-in person's own lines, now read; 404 for anyone else's."""
    try:
        return actions.mark_read(user=request.user, notification_id=pk)
    except Notification.DoesNotExist as exc:
        raise Http404 from exc


@login_required
@require_GET
def open_notification(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow a line of the feed: it is read, and the person lands where it points."""
    item = _read(request, pk)
    safe = url_has_allowed_host_and_scheme(item.url, allowed_hosts=None) and item.url.startswith(
        "/"
    )
    return redirect(item.url if safe else "conversations:notifications")


@login_required
@require_POST
def mark_read(request: HttpRequest, pk: int) -> HttpResponse:
    item = _read(request, pk)
    if request.htmx:
        return TemplateResponse(
            request,
            "conversations/notifications.html#notification-row",
            {"item": item, "unread_count": actions.unread_count(request.user), "oob": True},
        )
    return redirect("conversations:notifications")


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    count = actions.mark_all_read(user=request.user)
    messages.success(
        request,
        f"{count} notification{'s' if count != 1 else ''} marked read."
        if count
        else "Nothing was unread.",
    )
    return redirect("conversations:notifications")


# Announcements.


@login_required
@require_GET
def announcement(request: HttpRequest, pk: int) -> HttpResponse:
    """For the people it was sent to, and the admins of its cohort."""
    item = get_object_or_404(
        actions.visible_announcements(user=request.user).select_related("cohort", "author"), pk=pk
    )
    return TemplateResponse(request, "conversations/announcement.html", {"item": item})
