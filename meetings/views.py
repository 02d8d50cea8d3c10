"""The pair's shared space, the dashboard, the impact record and email preferences.

Only the two people of a pair may open or change it; the admins of the cohort the pair came from
may read its plan and meetings, never anyone's private notes, and change nothing."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cohorts.models import Placement
from conversations.selectors import open_conversation
from matching.models import MentorRequest, Mentorship
from meetings import services
from meetings.forms import DURATIONS, NUL_MESSAGE, CloseForm, LookBackForm, MeetingForm
from meetings.models import (
    ActionItem,
    AgendaItem,
    CalendarFeed,
    CheckIn,
    Closure,
    EmailPreference,
    Meeting,
    Milestone,
    Note,
)
from meetings.selectors import pair_workspace
from meetings.services import MeetingError
from profiles.models import Goal, Profile, User
from profiles.onboarding import Completeness, completeness


@dataclass
class Access:
    pair: Mentorship
    member: bool  # one of the two: may change things
    me_mentor: bool


def access(request: HttpRequest, pk: int) -> Access:
    """The pair, if the signed-in person is in it or admins its cohort; 404 otherwise."""
    pair = get_object_or_404(
        Mentorship.objects.select_related("mentor__profile", "mentee__profile"), pk=pk
    )
    user = request.user
    if user.pk in (pair.mentor_id, pair.mentee_id):
        return Access(pair, True, user.pk == pair.mentor_id)
    if Placement.objects.filter(mentorship=pair, cohort__admins=user).exists():
        return Access(pair, False, False)
    raise Http404


def member_access(request: HttpRequest, pk: int, *, change: bool = True) -> Access:
    """One of the two people in the pair; to change anything (change=True) the pair must still
    be going: a closed pair's page is a read-only record."""
    found = access(request, pk)
    if not found.member:
        raise Http404
    if change and found.pair.status != Mentorship.Status.ACTIVE:
        raise PermissionDenied("This mentorship is closed: its page is a read-only record now.")
    return found


def _pair_page(
    request: HttpRequest,
    found: Access,
    *,
    schedule_form: MeetingForm | None = None,
    move_form: MeetingForm | None = None,
    move_pk: int | None = None,
    status: int = 200,
) -> TemplateResponse:
    """The pair's page: the workspace as the signed-in person reads it, and the booking form
    (as posted, with its errors, when a booking was refused)."""
    workspace = pair_workspace(pair=found.pair, viewer=request.user, member=found.member)
    context = {
        # The pair's conversation is theirs alone: a cohort admin reading the page never sees it.
        "conversation": open_conversation(reader=request.user, mentorship=found.pair)
        if found.member
        else None,
        "pair": found.pair,
        "workspace": workspace,
        # The form as posted, when a booking was refused; else the blank one, the same for all.
        "schedule_form": schedule_form,
        "blank_schedule_form": None if schedule_form else _blank_schedule_form(),
        # A refused move: that meeting's form again, as typed, with its errors beside the fields.
        "move_form": move_form,
        "move_pk": move_pk,
        "durations": DURATIONS,
        "closure_awaits_me": bool(
            workspace.closure and workspace.closure.awaits_reflection_from(request.user)
        ),
    }
    return TemplateResponse(request, "meetings/pair.html", context, status=status)


@cache
def _blank_schedule_form() -> str:
    """The booking form before anything is typed: its HTML depends on no one, so each process
    renders it once (Django renders a form through a template per field)."""
    return MeetingForm(user=None).as_div()


@login_required
@require_GET
def pair_page(request: HttpRequest, pk: int) -> HttpResponse:
    return _pair_page(request, access(request, pk))


def _back(pk: int, anchor: str = "") -> HttpResponse:
    response = redirect("meetings:pair", pk=pk)
    if anchor:
        response["Location"] += f"#{anchor}"
    return response


def _refused(request: HttpRequest, found: Access, form: MeetingForm) -> HttpResponse:
    """The pair's page again with the scheduling form as given, so what is wrong shows next to
    each field: 400, and nothing saved."""
    return _pair_page(request, found, schedule_form=form, status=400)


@login_required
@require_POST
def schedule(request: HttpRequest, pk: int) -> HttpResponse:
    """Book a meeting, from a suggested slot's button or from the typed date and time."""
    found = member_access(request, pk)
    form = MeetingForm(request.POST, user=request.user)
    if not form.is_valid():
        return _refused(request, found, form)
    try:
        services.schedule(
            found.pair,
            request.user,
            starts_at=form.cleaned_data["starts_at"],
            duration=form.cleaned_data["duration"],
            place=form.cleaned_data["place"],
        )
    except MeetingError as error:  # a rule (a past time, say): beside the date, as typed
        form.add_error("day" if request.POST.get("day") else None, str(error))
        return _refused(request, found, form)
    messages.success(
        request, "Meeting scheduled. We told the other person and will remind you both."
    )
    return _back(pk, "meetings")


def _meeting(found: Access, meeting_pk: int) -> Meeting:
    return get_object_or_404(Meeting, pk=meeting_pk, mentorship=found.pair)


@login_required
@require_POST
def reschedule(request: HttpRequest, pk: int, meeting_pk: int) -> HttpResponse:
    found = member_access(request, pk)
    meeting = _meeting(found, meeting_pk)
    form = MeetingForm(request.POST, user=request.user)
    if not form.is_valid():
        return _pair_page(request, found, move_form=form, move_pk=meeting.pk, status=400)
    try:
        services.reschedule(
            meeting,
            request.user,
            starts_at=form.cleaned_data["starts_at"],
            duration=form.cleaned_data["duration"],
            place=form.cleaned_data["place"] or meeting.place,
        )
    except MeetingError as error:  # a rule (a past time, say): beside the date, as typed
        form.add_error("day" if request.POST.get("day") else None, str(error))
        return _pair_page(request, found, move_form=form, move_pk=meeting.pk, status=400)
    messages.success(request, "Meeting moved. The other person has the new time.")
    return _back(pk, f"meeting-{meeting.pk}")


@login_required
@require_POST
def cancel(request: HttpRequest, pk: int, meeting_pk: int) -> HttpResponse:
    found = member_access(request, pk)
    services.cancel(_meeting(found, meeting_pk), request.user)
    messages.success(request, "Meeting cancelled. The other person has been told.")
    return _back(pk, "meetings")


@login_required
@require_GET
def meeting_ics(request: HttpRequest, pk: int, meeting_pk: int) -> HttpResponse:
    found = member_access(request, pk)
    meeting = _meeting(found, meeting_pk)
    response = HttpResponse(services.ics(meeting, request.user), content_type="text/calendar")
    response["Content-Disposition"] = f'attachment; filename="meeting-{meeting.pk}.ics"'
    return response


@login_required
@require_POST
def add_agenda(request: HttpRequest, pk: int, meeting_pk: int) -> HttpResponse:
    found = member_access(request, pk)
    meeting = _meeting(found, meeting_pk)
    try:
        text = _posted_text(request, "text")
        if not text:
            raise forms.ValidationError("Write the agenda item first.")
    except forms.ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        AgendaItem.objects.create(meeting=meeting, author=request.user, text=text[:300])
    return _back(pk, f"meeting-{meeting.pk}")


@login_required
@require_POST
def add_note(request: HttpRequest, pk: int, meeting_pk: int) -> HttpResponse:
    found = member_access(request, pk)
    meeting = _meeting(found, meeting_pk)
    try:
        text = _posted_text(request, "text")
        if not text:
            raise forms.ValidationError("The note is empty.")
    except forms.ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        Note.objects.create(
            meeting=meeting,
            author=request.user,
            text=text[:10000],
            private=request.POST.get("private") == "on",
        )
    return _back(pk, f"meeting-{meeting.pk}")


@login_required
@require_POST
def add_action(request: HttpRequest, pk: int) -> HttpResponse:
    found = member_access(request, pk)
    pair = found.pair
    owner = request.POST.get("owner") or str(request.user.pk)
    if owner not in (str(pair.mentor_id), str(pair.mentee_id)):
        raise Http404
    try:
        text = _posted_text(request, "text")
        if not text:
            raise forms.ValidationError("Write what is to be done.")
        due = _due_date(request)
    except forms.ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        ActionItem.objects.create(mentorship=pair, owner_id=int(owner), text=text[:300], due_on=due)
    return _back(pk, "actions")


def _due_date(request: HttpRequest):
    """The optional due date of a posted form; ValidationError when it is not a date."""
    field = forms.DateField(
        required=False, error_messages={"invalid": "The due date is not a date."}
    )
    return field.clean(request.POST.get("due_on", ""))


def _posted_text(request: HttpRequest, name: str) -> str:
    """A posted text, stripped; ValidationError when it holds a NUL character, which PostgreSQL
    cannot store (RejectNulMiddleware reads url-encoded forms only, not multipart ones)."""
    field = forms.CharField(
        required=False, error_messages={"null_characters_not_allowed": NUL_MESSAGE}
    )
    return field.clean(request.POST.get(name, ""))


@login_required
@require_POST
def toggle_action(request: HttpRequest, pk: int, action_pk: int) -> HttpResponse:
    found = member_access(request, pk)
    item = get_object_or_404(ActionItem, pk=action_pk, mentorship=found.pair)
    # The page's checkbox posts the state it asks for, not "flip": a second click from a stale
    # page, or a double submit, does not undo the first.
    done = {"1": True, "0": False}.get(request.POST.get("done", ""))
    if done is None:
        messages.error(request, "Say whether the action item is done.")
    elif done != item.done:
        item.done = done
        item.done_at = timezone.now() if done else None
        item.save(update_fields=["done", "done_at"])
    return _back(pk, "actions")


@login_required
@require_POST
def add_milestone(request: HttpRequest, pk: int, goal_pk: int) -> HttpResponse:
    found = member_access(request, pk)
    goal = get_object_or_404(found.pair.goals, pk=goal_pk)
    try:
        title = _posted_text(request, "title")
        if not title:
            raise forms.ValidationError("Name the milestone.")
        due = _due_date(request)
    except forms.ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        Milestone.objects.create(mentorship=found.pair, goal=goal, title=title[:200], due_on=due)
    return _back(pk, "plan")


@login_required
@require_POST
def milestone_status(request: HttpRequest, pk: int, milestone_pk: int) -> HttpResponse:
    found = member_access(request, pk)
    milestone = get_object_or_404(Milestone, pk=milestone_pk, mentorship=found.pair)
    status = request.POST.get("status")
    if status in Milestone.Status.values:
        milestone.status = status
        milestone.save(update_fields=["status"])
    return _back(pk, "plan")


@login_required
@require_POST
def check_in(request: HttpRequest, pk: int, meeting_pk: int) -> HttpResponse:
    found = member_access(request, pk, change=False)  # a reflection may come after the end
    meeting = _meeting(found, meeting_pk)
    if meeting.status != Meeting.Status.SCHEDULED or not meeting.is_past:
        messages.error(request, "You can check in once the meeting has taken place.")
        return _back(pk, f"meeting-{meeting.pk}")
    try:
        rating = int(request.POST.get("rating", ""))
    except ValueError:
        rating = 0
    try:
        apply = _posted_text(request, "apply")
    except forms.ValidationError as error:
        messages.error(request, error.messages[0])
        return _back(pk, f"meeting-{meeting.pk}")
    if not 1 <= rating <= 5 or not apply:
        messages.error(request, "Give a rating from 1 to 5 and say what you will apply.")
        return _back(pk, f"meeting-{meeting.pk}")
    fit = {"yes": True, "no": False}.get(request.POST.get("good_fit", ""))
    try:
        with transaction.atomic():
            CheckIn.objects.create(
                meeting=meeting,
                author=request.user,
                rating=rating,
                apply=apply[:2000],
                good_fit=fit,
            )
    except IntegrityError:
        messages.info(request, "You have already checked in for this meeting.")
        return _back(pk, f"meeting-{meeting.pk}")
    active = found.pair.status == Mentorship.Status.ACTIVE
    if fit is False and request.user.pk == found.pair.mentee_id and active:
        services.not_a_fit(found.pair, request.user)
        messages.info(
            request,
            "Thank you for saying so: not every pair fits, and that is fine. We have closed this "
            "mentorship kindly; here are your next best matches.",
        )
        return redirect("matching:find")
    messages.success(request, "Thanks for checking in.")
    return _back(pk, f"meeting-{meeting.pk}")


@login_required
@require_http_methods(["GET", "POST"])
def close(request: HttpRequest, pk: int) -> HttpResponse:
    found = member_access(request, pk, change=False)
    pair = found.pair
    if pair.status != Mentorship.Status.ACTIVE:
        messages.info(request, "This mentorship is already closed.")
        return _back(pk)
    form = CloseForm(request.POST or None, pair=pair, mentee=not found.me_mentor)
    if request.method == "POST" and form.is_valid():
        services.close(
            pair,
            request.user,
            outcome=form.cleaned_data["outcome"],
            achieved=[g.pk for g in form.cleaned_data["achieved"]],
            feedback=form.cleaned_data["feedback"],
            thank_you=form.cleaned_data.get("thank_you", ""),
        )
        messages.success(request, "The mentorship is closed. Thank you both for the time you gave.")
        return _back(pk)
    return TemplateResponse(request, "meetings/close.html", {"pair": pair, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def reflect(request: HttpRequest, pk: int) -> HttpResponse:
    """The one who did not close looks back too, once the pair is closed."""
    found = member_access(request, pk, change=False)
    closure = Closure.objects.filter(mentorship=found.pair).first()
    if closure is None or not closure.awaits_reflection_from(request.user):
        messages.info(request, "There is nothing to reflect on here, or you already have.")
        return _back(pk)
    mentee = not found.me_mentor
    form = LookBackForm(request.POST or None, mentee=mentee and not closure.thank_you)
    if request.method == "POST" and form.is_valid():
        try:
            services.reflect(
                found.pair,
                request.user,
                outcome=form.cleaned_data["outcome"],
                feedback=form.cleaned_data["feedback"],
                thank_you=form.cleaned_data.get("thank_you", ""),
            )
        except MeetingError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, "Thank you for looking back: it helps the next pairs.")
        return _back(pk)
    return TemplateResponse(
        request, "meetings/reflect.html", {"pair": found.pair, "form": form, "closure": closure}
    )


@login_required
@require_POST
def thank_you_visibility(request: HttpRequest, pk: int) -> HttpResponse:
    found = member_access(request, pk, change=False)
    if not found.me_mentor:
        raise Http404
    closure = get_object_or_404(Closure, mentorship=found.pair)
    closure.show_thank_you = request.POST.get("show") == "1"
    closure.save(update_fields=["show_thank_you"])
    messages.success(
        request, "The thank-you shows on your profile." if closure.show_thank_you else "Hidden."
    )
    return _back(pk)


@login_required
@require_GET
def impact(request: HttpRequest) -> HttpResponse:
    return TemplateResponse(
        request, "meetings/impact.html", {"record": services.impact(request.user)}
    )


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    kinds = EmailPreference.Kind.choices
    if request.method == "POST":
        for kind, _ in kinds:
            services.set_preference(request.user, kind, request.POST.get(kind) == "on")
        messages.success(request, "Your email preferences are saved.")
        return redirect("meetings:preferences")
    rows = [(kind, label, services.wants(request.user, kind)) for kind, label in kinds]
    return TemplateResponse(request, "meetings/preferences.html", {"rows": rows})


@csrf_exempt  # the signed token is the proof; mail clients' one-click POST carries no CSRF
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """From an email, signed: no sign-in needed. GET only shows a button, so a mail scanner that
    follows links changes nothing; POST unsubscribes (also the one-click POST of RFC 8058 that
    mail clients send, `List-Unsubscribe=One-Click`); POST with undo=1 subscribes again."""
    found = services.read_unsubscribe(token)
    if found is None:
        return TemplateResponse(request, "meetings/unsubscribed.html", {"bad": True}, status=404)
    user, kind = found
    state = "ask"
    if request.method == "POST":
        enabled = request.POST.get("undo") == "1"
        services.set_preference(user, kind, enabled)
        state = "subscribed" if enabled else "unsubscribed"
    return TemplateResponse(
        request,
        "meetings/unsubscribed.html",
        {"label": EmailPreference.Kind(kind).label, "state": state, "token": token},
    )


def _completeness(profile: Profile) -> Completeness:
    """The meter, with everything it counts read in one query."""
    counts = User.objects.filter(pk=profile.user_id).aggregate(
        open_goals=Count("goals", filter=Q(goals__status=Goal.Status.OPEN), distinct=True),
        expertise=Count("expertise", distinct=True),
        offers=Count("offer", distinct=True),
        windows=Count("availability", distinct=True),
    )
    return completeness(
        profile,
        open_goals=counts["open_goals"] if profile.is_mentee else 0,
        expertise=counts["expertise"] if profile.is_mentor else 0,
        has_offer=bool(counts["offers"]) if profile.is_mentor else False,
        windows=counts["windows"],
    )


def _cohorts_state(user) -> list:
    """The cohorts this person runs, with where each stands. Most people run none: a plain query
    says so, and only for those who run some does a second one count (building that query, with
    its joins and counts, costs more than running either)."""
    from cohorts.models import Cohort, Enrollment

    order = ("-starts_on", "name")
    ids = list(Cohort.objects.administered_by(user).order_by(*order).values_list("pk")[:10])
    if not ids:
        return []
    joined, invited = Enrollment.Status.JOINED, Enrollment.Status.INVITED
    return list(
        Cohort.objects.filter(pk__in=[pk for (pk,) in ids])
        .annotate(
            joined=Count("enrollments", filter=Q(enrollments__status=joined), distinct=True),
            invited=Count("enrollments", filter=Q(enrollments__status=invited), distinct=True),
            active_pairs=Count(
                "placements",
                filter=Q(placements__mentorship__status=Mentorship.Status.ACTIVE),
                distinct=True,
            ),
        )
        .order_by(*order)
    )


def dashboard(request: HttpRequest) -> HttpResponse:
    """Home: the landing page for visitors, onboarding for newcomers, else what needs doing."""
    if not request.user.is_authenticated:
        return TemplateResponse(request, "profiles/landing.html")
    profile, _ = Profile.objects.get_or_create(user=request.user)
    user = request.user
    # Both ways of the one-to-one from what is loaded already: the meter and the meeting times
    # below read them, and would each fetch them again.
    profile.user = user
    cohorts = _cohorts_state(user)
    newcomer = profile.onboarded_at is None and not (profile.is_mentee or profile.is_mentor)
    if newcomer and not user.is_staff and not cohorts:
        return redirect("profiles:welcome")
    pairs = list(
        Mentorship.objects.active()
        .filter(Q(mentor=user) | Q(mentee=user))
        .select_related("mentor", "mentee")
        .order_by("-started_at")[:10]
    )
    upcoming = list(
        Meeting.objects.upcoming()
        .filter(Q(mentorship__mentor=user) | Q(mentorship__mentee=user))
        .select_related("mentorship__mentor", "mentorship__mentee")[:5]
    )
    for meeting in upcoming:
        meeting.when = services.when_label(meeting, user)
        meeting.other = services.other_person(meeting.mentorship, user)
    waiting = list(
        MentorRequest.objects.open()
        .filter(Q(mentor=user) | Q(mentee=user))
        .select_related("mentor", "mentee")[:10]
    )
    actions = list(
        ActionItem.objects.filter(
            owner=user, done=False, mentorship__status="active"
        ).select_related("mentorship__mentor", "mentorship__mentee")[:10]
    )
    return TemplateResponse(
        request,
        "profiles/dashboard.html",
        {
            "profile": profile,
            # A program admin who neither mentors nor is mentored sees their cohorts, not a
            # mentee's to-do list and a profile to complete.
            "participates": profile.is_mentee or profile.is_mentor or bool(pairs or waiting),
            "cohorts": cohorts,
            "completeness": _completeness(profile),
            "pairs": pairs,
            "upcoming": upcoming,
            "waiting": waiting,
            "actions": actions,
            "today": timezone.localdate(),
        },
    )


# The private calendar feed.


@login_required
@require_http_methods(["GET", "POST"])
def calendar(request: HttpRequest) -> HttpResponse:
    """The person's own feed address: made, replaced or revoked here (no pk: only one's own)."""
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "regenerate":
            had = CalendarFeed.objects.filter(user=request.user).exists()
            services.regenerate_feed(user=request.user)
            messages.success(
                request,
                "A new address is ready; the old one no longer works."
                if had
                else "Your calendar address is ready: add it to your calendar app.",
            )
        elif action == "revoke" and services.revoke_feed(user=request.user):
            messages.success(request, "The address no longer works. Make a new one any time.")
        return redirect("meetings:calendar")
    feed = CalendarFeed.objects.filter(user=request.user).first()
    return TemplateResponse(
        request,
        "meetings/calendar.html",
        {"feed": feed, "url": services.feed_url(feed) if feed else ""},
    )


@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The feed itself, for calendar apps: no sign-in, the secret token is the key. An unknown or
    revoked token is a plain 404, the same as any page that does not exist."""
    owner = services.feed_owner(token)
    if owner is None:
        raise Http404
    response = HttpResponse(services.feed_ics(owner), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="mentorship.ics"'
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    return response
