"""Find a mentor, why this match, requests and the mentor's inbox, mentorships.

Everyone sees only their own requests and pairs: every lookup below is filtered by the signed-in
person, so another person's id gives 404, never someone else's data."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from conversations.selectors import open_conversation
from matching import actions, engine, loader, search, services
from matching.models import MESSAGE_MAX, MESSAGE_MIN, MentorRequest, Mentorship
from matching.services import MatchingError
from mentorship.inputs import as_id
from profiles.models import Cadence, Goal, Profile, User

REQUESTS_PER_PAGE = 20


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@login_required
@require_GET
def find(request: HttpRequest) -> HttpResponse:
    # Once per request: the filters list the skills the ranking knows.
    mentors = loader.mentor_features()
    form = search.FindForm(request.GET or None, user=request.user, mentors=mentors)
    data = form.cleaned_data if form.is_valid() else {}
    has_goals = bool(form.open_goals)
    results = search.find(request.user, data, mentors=mentors) if has_goals else None
    page = Paginator(results.columns if results else [], search.PER_PAGE).get_page(
        request.GET.get("page")
    )
    policy = search.policy_for(data.get("mode") or "", data.get("overlap"))
    matches = search.matches_for(results, list(page.object_list), policy) if results else []
    context = {
        "form": form,
        "has_goals": has_goals,
        "page": page,
        "matches": matches,
        "query": _query_without_page(request),
        "mode": data.get("mode") or "regular",
        # What the mentor's page and the request carry on, so they show the same number.
        "carry": urlencode(
            {"mode": data.get("mode") or "regular"}
            | ({"goal": data["goal"].pk} if data.get("goal") else {})
        ),
    }
    template = "matching/find.html"
    if request.htmx and request.htmx.target == "match-results":
        template += "#match-results"
    return TemplateResponse(request, template, context)


def _visible_mentor(request: HttpRequest, pk: int) -> Profile:
    return get_object_or_404(
        Profile.objects.visible_to(request.user).select_related("user", "user__offer"),
        user_id=pk,
        is_mentor=True,
    )


def _chosen_goal(request: HttpRequest) -> Goal | None:
    """The goal carried from the list (?goal=), when it is one of the person's open goals."""
    pk = as_id(request.GET.get("goal", ""))
    if pk is None:
        return None
    return Goal.objects.open().filter(owner=request.user, pk=pk).first()


@login_required
@require_GET
def mentor(request: HttpRequest, pk: int) -> HttpResponse:
    """A mentor seen by the signed-in mentee: every component of the match, and why not."""
    profile = _visible_mentor(request, pk)
    mode = request.GET.get("mode", "regular")
    if mode not in engine.Mode.__members__.values():
        mode = "regular"
    goal = _chosen_goal(request)
    has_goals = Goal.objects.open().filter(owner=request.user).exists()
    fit = None
    if has_goals:
        fit = search.pair_fit(
            request.user,
            pk,
            goal_ids=[goal.pk] if goal else None,
            policy=search.policy_for(mode, None),
        )
    blocked_reason = services.can_request(request.user, profile.user)
    return TemplateResponse(
        request,
        "matching/mentor.html",
        {
            "profile": profile,
            "mentor": profile.user,
            "offer": getattr(profile.user, "offer", None),
            "fit": fit,
            "goal": goal,
            "has_goals": has_goals,
            "blocked_reason": blocked_reason,
            "answers_in": search.response_times([pk]).get(pk),
            "mode": mode,
        },
    )


class RequestForm(forms.Form):
    goals = forms.ModelMultipleChoiceField(
        label="Which of your goals is this for?",
        queryset=Goal.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one of your open goals."},
    )
    message = forms.CharField(
        label="Your message",
        widget=forms.Textarea(attrs={"rows": 6, "maxlength": MESSAGE_MAX}),
        min_length=MESSAGE_MIN,
        max_length=MESSAGE_MAX,
        help_text=f"Say what you hope to get from this mentor and why them ({MESSAGE_MIN}-"
        f"{MESSAGE_MAX} characters).",
        error_messages={
            "required": "Write a short message: mentors answer people, not forms.",
            "min_length": f"Write at least {MESSAGE_MIN} characters, so the mentor knows why you "
            "are asking (you wrote %(show_value)d).",
            "max_length": f"Keep it under {MESSAGE_MAX} characters (you wrote %(show_value)d).",
        },
    )
    cadence = forms.ChoiceField(
        label="How often would you like to meet?", choices=Cadence.choices, initial="biweekly"
    )

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["goals"].queryset = Goal.objects.open().filter(owner=user).order_by("pk")


@login_required
@require_http_methods(["GET", "POST"])
def new_request(request: HttpRequest, pk: int) -> HttpResponse:
    profile = _visible_mentor(request, pk)
    goal = _chosen_goal(request)
    form = RequestForm(
        request.POST or None, user=request.user, initial={"goals": [goal] if goal else []}
    )
    blocked_reason = services.can_request(request.user, profile.user)
    has_goals = form.fields["goals"].queryset.exists()
    if request.method == "POST" and form.is_valid() and not blocked_reason:
        try:
            created = services.create_request(
                mentee=request.user,
                mentor=profile.user,
                goals=form.cleaned_data["goals"],
                message=form.cleaned_data["message"],
                cadence=form.cleaned_data["cadence"],
            )
        except MatchingError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request, f"Your request is on its way to {profile.user.name}. We will email you."
            )
            return redirect("matching:request", pk=created.pk)
    return TemplateResponse(
        request,
        "matching/request_form.html",
        {
            "form": form,
            "profile": profile,
            "mentor": profile.user,
            "blocked_reason": blocked_reason,
            "has_goals": has_goals,
        },
    )


@login_required
@require_GET
def requests(request: HttpRequest) -> HttpResponse:
    """The mentor's inbox and the mentee's sent requests."""
    box = request.GET.get("box")
    profile = Profile.objects.filter(user=request.user).first()
    if box not in ("received", "sent"):
        box = "received" if profile and profile.is_mentor else "sent"
    field = "mentor" if box == "received" else "mentee"
    rows = (
        MentorRequest.objects.filter(**{field: request.user})
        .select_related("mentee", "mentor")
        .prefetch_related("goals")
        .order_by("-created_at", "-pk")
    )
    status = request.GET.get("status", "open")
    if status == "open":
        rows = rows.filter(status__in=MentorRequest.OPEN)
    page = Paginator(rows, REQUESTS_PER_PAGE).get_page(request.GET.get("page"))
    counts = {
        "received": MentorRequest.objects.open().filter(mentor=request.user).count(),
        "sent": MentorRequest.objects.open().filter(mentee=request.user).count(),
    }
    fits = search.request_fits(list(page.object_list), request.user) if box == "received" else {}
    for item in page.object_list:
        item.fit = fits.get(item.pk)
    return TemplateResponse(
        request,
        "matching/requests.html",
        {"page": page, "box": box, "status": status, "counts": counts},
    )


def _own_request(request: HttpRequest, pk: int) -> MentorRequest:
    return get_object_or_404(
        MentorRequest.objects.involving(request.user)
        .select_related("mentee__profile", "mentor__profile")
        .prefetch_related("goals__skills"),
        pk=pk,
    )


@login_required
@require_GET
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = _own_request(request, pk)
    context = _request_context(request, item)
    context["conversation"] = open_conversation(reader=request.user, request=item)
    return TemplateResponse(request, "matching/request.html", context)


def _request_fit(request: HttpRequest, item: MentorRequest) -> search.Fit | None:
    """How well the pair of an open request fits, for the goals it names, as the reader reads it."""
    if not item.is_open:
        return None
    return search.pair_fit(
        item.mentee,
        item.mentor_id,
        goal_ids=[goal.pk for goal in item.goals.all()],
        audience="mentor" if item.mentor_id == request.user.pk else "mentee",
    )


def _request_context(request: HttpRequest, item: MentorRequest, error: str = "") -> dict:
    return {
        "item": item,
        "fit": _request_fit(request, item),
        "is_mentor": item.mentor_id == request.user.pk,
        "is_mentee": item.mentee_id == request.user.pk,
        "error": error,
        "mentorship": Mentorship.objects.filter(request=item).first(),
    }


ACTIONS = {
    # action: (who may do it, what it does, message on success)
    "accept": (
        "mentor",
        lambda r, u, d: actions.accept_request(request_id=r, mentor=u),
        "You accepted the request.",
    ),
    "decline": (
        "mentor",
        lambda r, u, d: services.decline(r, u, d.get("note", "")),
        "You declined the request. The mentee has been told kindly.",
    ),
    "ask": (
        "mentor",
        lambda r, u, d: services.ask_for_information(r, u, d.get("question", "")),
        "Your question has been sent.",
    ),
    "report": (
        "mentor",
        lambda r, u, d: services.report(r, u, d.get("reason", "")),
        "Thank you. The request is reported to the program staff, and its sender can no "
        "longer contact you.",
    ),
    "answer": (
        "mentee",
        lambda r, u, d: services.answer_question(r, u, d.get("answer", "")),
        "Your answer has been sent.",
    ),
    "withdraw": (
        "mentee",
        lambda r, u, d: services.withdraw(r, u),
        "You withdrew the request.",
    ),
}


@login_required
@require_POST
def request_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Accept, decline, ask, report (mentor); answer, withdraw (mentee). With htmx the request
    card is replaced in place; without, the page is reloaded with a message."""
    if action not in ACTIONS:
        raise Http404
    item = _own_request(request, pk)
    role, perform, success = ACTIONS[action]
    if getattr(item, f"{role}_id") != request.user.pk:
        raise Http404
    error = ""
    try:
        perform(item.pk, request.user, request.POST)
    except MatchingError as exc:
        error = str(exc)
    except MentorRequest.DoesNotExist as exc:
        raise Http404 from exc
    item = _own_request(request, pk)
    if request.htmx and request.POST.get("from") == "list":
        item.fit = None if error else _request_fit(request, item)
        flash = "" if error else success
        context = {"item": item, "box": "received", "flash": flash, "error": error}
        return TemplateResponse(request, "matching/requests.html#request-row", context)
    if request.htmx:
        context = _request_context(request, item, error)
        context["flash"] = "" if error else success
        return TemplateResponse(request, "matching/request.html#request-card", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, success)
    return redirect("matching:request", pk=pk)


@login_required
@require_GET
def mentorships(request: HttpRequest) -> HttpResponse:
    rows = (
        Mentorship.objects.involving(request.user)
        .select_related("mentor__profile", "mentee__profile")
        .prefetch_related("goals")
        .order_by("status", "-started_at", "-pk")
    )
    page = Paginator(rows, REQUESTS_PER_PAGE).get_page(request.GET.get("page"))
    return TemplateResponse(request, "matching/mentorships.html", {"page": page})


@login_required
@require_GET
def mentorship(request: HttpRequest, pk: int) -> HttpResponse:
    """A pair's own page lives with its meetings; only the two people in it get there."""
    pair = get_object_or_404(Mentorship.objects.involving(request.user), pk=pk)
    return redirect(reverse("meetings:pair", args=[pair.pk]))
