"""Events and stories. Every read starts from what the person may see (`Event.objects.visible_to`,
`actions.may_organise`, `actions.may_review`); nothing is fetched by a bare id."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cohorts.models import Cohort
from community import actions
from community import circles as circle_actions
from community.actions import CommunityError
from community.calendar import event_ics
from community.forms import EventForm, OpenCircleForm, ReviewForm, StoryForm
from community.models import Event, Rsvp, Story
from conversations.selectors import open_conversation
from matching.models import Circle, CircleMember
from meetings import services as meetings
from meetings.forms import MeetingForm
from meetings.models import ActionItem, Meeting
from meetings.services import MeetingError

PER_PAGE = 20


def _counted(events):
    return events.annotate(
        going=Count("rsvps", filter=Q(rsvps__status=Rsvp.Status.GOING)),
        waiting=Count("rsvps", filter=Q(rsvps__status=Rsvp.Status.WAITING)),
    ).select_related("cohort")


def _organises(user) -> bool:
    return user.is_staff or Cohort.objects.filter(admins=user).exists()


@login_required
@require_GET
def events(request: HttpRequest) -> HttpResponse:
    rows = Event.objects.visible_to(request.user)
    past = request.GET.get("when") == "past"
    rows = rows.filter(ends_at__lt=timezone.now()) if past else rows.upcoming()
    cohort = request.GET.get("cohort")
    if cohort:
        rows = rows.filter(cohort__slug=cohort)
    rows = _counted(rows).order_by("-starts_at" if past else "starts_at", "pk")
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    mine = dict(
        Rsvp.objects.filter(user=request.user, event__in=page.object_list)
        .exclude(status=Rsvp.Status.CANCELLED)
        .values_list("event_id", "status")
    )
    for event in page.object_list:
        event.my_status = mine.get(event.pk)
    return TemplateResponse(
        request,
        "community/events.html",
        {"page": page, "past": past, "cohort": cohort, "organises": _organises(request.user)},
    )


@login_required
@require_GET
def upcoming_panel(request: HttpRequest) -> HttpResponse:
    """The dashboard's panel (loaded by htmx): the next events this person may go to."""
    rows = _counted(Event.objects.visible_to(request.user).upcoming()).order_by("starts_at")[:3]
    return TemplateResponse(request, "community/events.html#upcoming-panel", {"upcoming": rows})


def _event(request: HttpRequest, pk: int) -> Event:
    return get_object_or_404(_counted(Event.objects.visible_to(request.user)), pk=pk)


def _event_page(request, event: Event, *, move_form=None, status: int = 200) -> TemplateResponse:
    mine = Rsvp.objects.filter(event=event, user=request.user).first()
    organises = actions.may_organise(request.user, event.cohort)
    people = (
        list(
            event.rsvps.exclude(status=Rsvp.Status.CANCELLED)
            .select_related("user")
            .order_by("created_at", "pk")
        )
        if organises
        else []
    )
    return TemplateResponse(
        request,
        "community/event.html",
        {
            "event": event,
            "mine": mine if mine and mine.status != Rsvp.Status.CANCELLED else None,
            "line": actions.place_in_line(mine) if mine and mine.status == "waiting" else None,
            "when_mine": actions.when_label(event, request.user),
            # The time as planned, when the reader lives in another zone.
            "organiser_when": actions.zone_label(event, event.zone)
            if event.zone != meetings.zone_of(request.user).key
            else "",
            "organises": organises,
            "going": [r for r in people if r.status == Rsvp.Status.GOING],
            "waiting": [r for r in people if r.status == Rsvp.Status.WAITING],
            "move_form": move_form,
        },
        status=status,
    )


@login_required
@require_GET
def event(request: HttpRequest, pk: int) -> HttpResponse:
    return _event_page(request, _event(request, pk))


@login_required
@require_http_methods(["GET", "POST"])
def new_event(request: HttpRequest) -> HttpResponse:
    if not _organises(request.user):
        raise Http404
    initial = {}
    if slug := request.GET.get("cohort"):
        initial["cohort"] = Cohort.objects.filter(slug=slug, admins=request.user).first()
    form = EventForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = actions.plan_event(
                organiser=request.user,
                cohort=data["cohort"],
                title=data["title"],
                description=data["description"],
                starts_at=data["starts_at"],
                duration_minutes=data["duration"],
                capacity=data["capacity"],
                link=data["link"],
                place=data["place"],
            )
        except CommunityError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "The event is planned: people can sign up now.")
            return redirect("community:event", pk=created.pk)
    return TemplateResponse(request, "community/event_form.html", {"form": form})


def _act(request: HttpRequest, pk: int, perform, success: str) -> HttpResponse:
    found = _event(request, pk)
    try:
        perform(found)
    except CommunityError as error:
        messages.error(request, str(error))
    except Event.DoesNotExist as exc:
        raise Http404 from exc
    else:
        messages.success(request, success)
    return redirect("community:event", pk=pk)


@login_required
@require_POST
def rsvp(request: HttpRequest, pk: int) -> HttpResponse:
    found = _event(request, pk)
    try:
        place = actions.rsvp(event=found, user=request.user)
    except CommunityError as error:
        messages.error(request, str(error))
    else:
        if place.status == Rsvp.Status.GOING:
            messages.success(request, "You are going. The invitation is in your email.")
        else:
            messages.success(
                request,
                f"The event is full: you are number {actions.place_in_line(place)} on the "
                "waitlist. We will tell you if a place opens up.",
            )
    return redirect("community:event", pk=pk)


@login_required
@require_POST
def leave(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda e: actions.cancel_rsvp(event=e, user=request.user),
        "You gave up your place; the next person in line gets it.",
    )


def _organiser_event(request: HttpRequest, pk: int) -> Event:
    found = _event(request, pk)
    if not actions.may_organise(request.user, found.cohort):
        raise Http404
    return found


@login_required
@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    _organiser_event(request, pk)
    return _act(
        request,
        pk,
        lambda e: actions.cancel_event(event=e, by=request.user),
        "The event is cancelled; everyone who signed up is told.",
    )


@login_required
@require_POST
def move(request: HttpRequest, pk: int) -> HttpResponse:
    found = _organiser_event(request, pk)
    form = MeetingForm(request.POST, user=request.user)
    if not form.is_valid() or not form.cleaned_data.get("starts_at"):
        messages.error(request, "Check the new date and time.")
        return _event_page(request, found, move_form=form, status=400)
    minutes = int((found.ends_at - found.starts_at).total_seconds() // 60)
    return _act(
        request,
        pk,
        lambda e: actions.move_event(
            event=e,
            by=request.user,
            starts_at=form.cleaned_data["starts_at"],
            duration_minutes=minutes,
        ),
        "The event has a new time; everyone going is told.",
    )


@login_required
@require_POST
def attendance(request: HttpRequest, pk: int) -> HttpResponse:
    _organiser_event(request, pk)
    present = {int(v) for v in request.POST.getlist("present") if v.isdigit()}
    return _act(
        request,
        pk,
        lambda e: actions.take_attendance(event=e, by=request.user, present=present),
        "Attendance is saved.",
    )


@login_required
@require_GET
def ics(request: HttpRequest, pk: int) -> HttpResponse:
    response = HttpResponse(
        event_ics(_event(request, pk), request.user), content_type="text/calendar"
    )
    response["Content-Disposition"] = 'attachment; filename="event.ics"'
    return response


# Stories.


@require_GET
def stories(request: HttpRequest) -> HttpResponse:
    """The program's public page of stories: only approved ones, for anyone, signed in or not."""
    rows = Story.objects.published().select_related("author", "cohort", "quote")
    if slug := request.GET.get("cohort"):
        rows = rows.filter(cohort__slug=slug)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    return TemplateResponse(request, "community/stories.html", {"page": page})


def _readable_story(request: HttpRequest, pk: int) -> Story:
    story = get_object_or_404(
        Story.objects.select_related("author", "cohort", "quote__mentorship__mentee"), pk=pk
    )
    if story.status == Story.Status.APPROVED:
        return story
    user = request.user
    if user.is_authenticated and (
        story.author_id == user.pk
        or actions.may_review(user, story)
        or (story.quote and story.quote.mentorship.mentee_id == user.pk)
    ):
        return story
    raise Http404


@require_GET
def story(request: HttpRequest, pk: int) -> HttpResponse:
    found = _readable_story(request, pk)
    user = request.user
    return TemplateResponse(
        request,
        "community/story.html",
        {
            "story": found,
            "is_author": user.is_authenticated and found.author_id == user.pk,
            "reviews": user.is_authenticated
            and found.status == Story.Status.SUBMITTED
            and actions.may_review(user, found),
            "asks_consent": bool(
                user.is_authenticated
                and found.quote
                and found.quote.mentorship.mentee_id == user.pk
            ),
            "review_form": ReviewForm(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def write(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    existing = get_object_or_404(Story, pk=pk, author=request.user) if pk else None
    form = StoryForm(request.POST or None, instance=existing, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            saved = actions.write_story(author=request.user, story=existing, **form.cleaned_data)
            if request.POST.get("submit"):
                actions.submit_story(story=saved, by=request.user)
        except CommunityError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                "Your story is sent for review." if request.POST.get("submit") else "Draft saved.",
            )
            return redirect("community:story", pk=saved.pk)
    return TemplateResponse(request, "community/story_form.html", {"form": form, "story": existing})


@login_required
@require_GET
def my_stories(request: HttpRequest) -> HttpResponse:
    rows = (
        Story.objects.filter(author=request.user).select_related("cohort").order_by("-created_at")
    )
    return TemplateResponse(request, "community/my_stories.html", {"rows": rows})


@login_required
@require_POST
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    found = get_object_or_404(Story, pk=pk, author=request.user)
    actions.withdraw_story(story=found, by=request.user)
    messages.success(request, "Your story is withdrawn: nobody else can read it now.")
    return redirect("community:story", pk=pk)


@login_required
@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    """Stories this person reviews: a cohort's (its admins) or the program's (staff)."""
    mine = Q(cohort__admins=request.user)
    if request.user.is_staff:
        mine |= Q(cohort__isnull=True)
    rows = Story.objects.filter(mine).distinct().select_related("author", "cohort")
    cohort = None
    if slug := request.GET.get("cohort"):
        cohort = get_object_or_404(Cohort.objects.administered_by(request.user), slug=slug)
        rows = rows.filter(cohort=cohort)
    return TemplateResponse(
        request,
        "community/review.html",
        {
            "cohort": cohort,
            "waiting": rows.filter(status=Story.Status.SUBMITTED).order_by("submitted_at"),
            "published": rows.filter(status=Story.Status.APPROVED),
        },
    )


@login_required
@require_POST
def review(request: HttpRequest, pk: int) -> HttpResponse:
    found = get_object_or_404(Story.objects.select_related("cohort"), pk=pk)
    if not actions.may_review(request.user, found):
        raise Http404
    approve = request.POST.get("decision") == "approve"
    try:
        actions.review_story(
            story=found, by=request.user, approve=approve, note=request.POST.get("note", "")
        )
    except CommunityError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, "Published." if approve else "Returned to its author with your note."
        )
    return redirect("community:story", pk=pk)


@login_required
@require_POST
def consent(request: HttpRequest, pk: int) -> HttpResponse:
    found = _readable_story(request, pk)
    try:
        actions.answer_quote(
            story=found, by=request.user, consent=request.POST.get("consent") == "yes"
        )
    except Story.DoesNotExist as exc:
        raise Http404 from exc
    messages.success(request, "Thank you: your answer is saved.")
    return redirect("community:story", pk=pk)


# Circles.


@login_required
@require_GET
def circles(request: HttpRequest) -> HttpResponse:
    mine = (
        Circle.objects.of(request.user)
        .select_related("facilitator")
        .annotate(seats=Count("members", filter=Q(members__status=CircleMember.Status.ACTIVE)))
    )
    open_ones = (
        circle_actions.joinable(request.user)
        .select_related("facilitator")
        .annotate(seats=Count("members", filter=Q(members__status=CircleMember.Status.ACTIVE)))
        .order_by("topic", "pk")
    )
    return TemplateResponse(
        request,
        "community/circles.html",
        {
            "mine": mine,
            "open_ones": Paginator(open_ones, PER_PAGE).get_page(request.GET.get("page")),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def new_circle(request: HttpRequest) -> HttpResponse:
    form = OpenCircleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            made = circle_actions.start_circle(
                facilitator=request.user,
                topic=data["topic"],
                skills=list(data["skills"]),
                joining=data["joining"],
                size=data["size"],
                weekday=data["weekday"],
                start_minute=form.start_minute(),
                duration_minutes=data["duration"],
            )
        except circle_actions.CircleError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Your circle is open: people can ask to join.")
            return redirect("community:circle", pk=made.pk)
    return TemplateResponse(request, "community/circle_form.html", {"form": form})


def _circle(pk: int) -> Circle:
    return get_object_or_404(
        Circle.objects.select_related("facilitator__profile").prefetch_related("skills"), pk=pk
    )


@login_required
@require_GET
def circle(request: HttpRequest, pk: int) -> HttpResponse:
    """Members and the facilitator work here; the cohort's admins read it (never private notes);
    anyone else sees what they need to ask to join an open circle, or nothing."""
    found = _circle(pk)
    role = circle_actions.role_in(found, request.user)
    joinable = circle_actions.joinable(request.user).filter(pk=found.pk).exists()
    if role is circle_actions.Role.OUTSIDER and not joinable:
        raise Http404
    context = {
        "circle": found,
        "role": role.value,
        "takes_part": role in (circle_actions.Role.FACILITATOR, circle_actions.Role.MEMBER),
        "joinable": joinable and role is circle_actions.Role.OUTSIDER,
        "pending": found.members.filter(
            user=request.user, status=CircleMember.Status.PENDING
        ).exists(),
    }
    if role is not circle_actions.Role.OUTSIDER:
        context.update(circle_workspace(found, request.user))
    if context["takes_part"]:  # the circle's conversation is its people's alone
        context["conversation"] = open_conversation(reader=request.user, circle=found)
    return TemplateResponse(request, "community/circle.html", context)


def circle_workspace(found: Circle, viewer) -> dict:
    now = timezone.now()
    seats = list(found.members.select_related("user").order_by("created_at", "pk"))
    sessions = list(
        found.sessions.prefetch_related(
            "agenda__author", "notes__author", "checkins", "answers"
        ).order_by("starts_at", "pk")
    )
    rows = []
    for meeting in sessions:
        mine = next((c for c in meeting.checkins.all() if c.author_id == viewer.pk), None)
        answer = next((a for a in meeting.answers.all() if a.user_id == viewer.pk), None)
        rows.append(
            {
                "meeting": meeting,
                "when": meetings.when_label(meeting, viewer),
                "agenda": list(meeting.agenda.all()),
                "notes": circle_actions.visible_notes(meeting, viewer),
                "my_checkin": mine,
                "checkins": len(meeting.checkins.all()),
                "going": sum(1 for a in meeting.answers.all() if a.going),
                "my_answer": answer,
                "past": meeting.starts_at <= now,
            }
        )
    return {
        "members": [s for s in seats if s.status == CircleMember.Status.ACTIVE],
        "asking": [s for s in seats if s.status == CircleMember.Status.PENDING],
        "upcoming": [r for r in rows if not r["past"] and r["meeting"].status == "scheduled"],
        "held": [r for r in rows if r["past"] and r["meeting"].status == "scheduled"],
        "actions": list(found.actions.select_related("owner")),
        "schedule_form": MeetingForm(user=viewer),
    }


def _circle_post(
    request: HttpRequest, pk: int, perform, success: str, anchor: str = ""
) -> HttpResponse:
    found = _circle(pk)
    if circle_actions.role_in(found, request.user) is circle_actions.Role.OUTSIDER and not (
        circle_actions.joinable(request.user).filter(pk=found.pk).exists()
    ):
        raise Http404
    try:
        perform(found)
    except (circle_actions.CircleError, MeetingError) as error:
        messages.error(request, str(error))
    except (Meeting.DoesNotExist, CircleMember.DoesNotExist, ActionItem.DoesNotExist) as exc:
        raise Http404 from exc
    else:
        messages.success(request, success)
    response = redirect("community:circle", pk=pk)
    if anchor:
        response["Location"] += f"#{anchor}"
    return response


@login_required
@require_POST
def join_circle(request: HttpRequest, pk: int) -> HttpResponse:
    return _circle_post(
        request,
        pk,
        lambda c: circle_actions.join_circle(circle=c, user=request.user),
        "Done: you are in, or your request is with the facilitator.",
    )


@login_required
@require_POST
def leave_circle(request: HttpRequest, pk: int) -> HttpResponse:
    return _circle_post(
        request,
        pk,
        lambda c: circle_actions.leave_circle(circle=c, user=request.user),
        "You left the circle.",
    )


@login_required
@require_POST
def approve(request: HttpRequest, pk: int, user_pk: int) -> HttpResponse:
    accept = request.POST.get("decision") == "accept"
    return _circle_post(
        request,
        pk,
        lambda c: circle_actions.approve_member(
            circle=c, by=request.user, user_id=user_pk, accept=accept
        ),
        "They are in." if accept else "They are told the circle is full for now.",
    )


@login_required
@require_POST
def new_session(request: HttpRequest, pk: int) -> HttpResponse:
    form = MeetingForm(request.POST, user=request.user)
    if not form.is_valid() or not form.cleaned_data.get("starts_at"):
        errors = "; ".join(e for field in form.errors.values() for e in field)
        messages.error(request, errors or "Check the date and time.")
        return redirect("community:circle", pk=pk)
    data = form.cleaned_data
    return _circle_post(
        request,
        pk,
        lambda c: meetings.schedule_session(
            c,
            request.user,
            starts_at=data["starts_at"],
            duration=data["duration"],
            place=data["place"],
        ),
        "The session is planned: everyone in the circle has the invitation.",
        "sessions",
    )


@login_required
@require_POST
def cancel_session(request: HttpRequest, pk: int, meeting_pk: int) -> HttpResponse:
    return _circle_post(
        request,
        pk,
        lambda c: meetings.cancel_session(
            Meeting.objects.get(pk=meeting_pk, circle=c), request.user
        ),
        "The session is cancelled; everyone is told.",
        "sessions",
    )


@login_required
@require_POST
def answer_session(request: HttpRequest, pk: int, meeting_pk: int) -> HttpResponse:
    going = request.POST.get("going") == "yes"
    return _circle_post(
        request,
        pk,
        lambda c: circle_actions.answer_session(
            circle=c, meeting_id=meeting_pk, user=request.user, going=going
        ),
        "See you there." if going else "Noted: you will not be there.",
        f"session-{meeting_pk}",
    )


@login_required
@require_POST
def session_agenda(request: HttpRequest, pk: int, meeting_pk: int) -> HttpResponse:
    return _circle_post(
        request,
        pk,
        lambda c: circle_actions.add_agenda_item(
            circle=c, meeting_id=meeting_pk, user=request.user, text=request.POST.get("text", "")
        ),
        "Added to the agenda.",
        f"session-{meeting_pk}",
    )


@login_required
@require_POST
def session_note(request: HttpRequest, pk: int, meeting_pk: int) -> HttpResponse:
    return _circle_post(
        request,
        pk,
        lambda c: circle_actions.add_note(
            circle=c,
            meeting_id=meeting_pk,
            user=request.user,
            text=request.POST.get("text", ""),
            private=request.POST.get("private") == "on",
        ),
        "Your note is saved.",
        f"session-{meeting_pk}",
    )


@login_required
@require_POST
def session_check_in(request: HttpRequest, pk: int, meeting_pk: int) -> HttpResponse:
    rating = request.POST.get("rating", "")
    return _circle_post(
        request,
        pk,
        lambda c: circle_actions.check_in(
            circle=c,
            meeting_id=meeting_pk,
            user=request.user,
            rating=int(rating) if rating.isdigit() else 0,
            apply=request.POST.get("apply", ""),
        ),
        "Thank you for checking in.",
        f"session-{meeting_pk}",
    )


@login_required
@require_POST
def circle_action(request: HttpRequest, pk: int) -> HttpResponse:
    owner = request.POST.get("owner", "")
    due = parse_date(request.POST.get("due_on", "") or "") if request.POST.get("due_on") else None
    return _circle_post(
        request,
        pk,
        lambda c: circle_actions.add_action(
            circle=c,
            user=request.user,
            owner_id=int(owner) if owner.isdigit() else 0,
            text=request.POST.get("text", ""),
            due_on=due,
        ),
        "Action item added.",
        "actions",
    )


@login_required
@require_POST
def toggle_circle_action(request: HttpRequest, pk: int, action_pk: int) -> HttpResponse:
    return _circle_post(
        request,
        pk,
        lambda c: circle_actions.toggle_action(circle=c, user=request.user, action_id=action_pk),
        "Saved.",
        "actions",
    )
