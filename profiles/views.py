from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_http_methods

from profiles.availability import WEEKDAYS, cells_from_windows, describe
from profiles.forms import (
    AvailabilityForm,
    ExpertiseFormSet,
    GoalForm,
    MentorOfferForm,
    ProfileForm,
    RolesForm,
    WindowForm,
)
from profiles.models import Email, Expertise, Goal, MentorOffer, Profile, Skill, User
from profiles.onboarding import completeness_of, next_step, steps_for

PEOPLE_PER_PAGE = 24


def profile_of(user: User) -> Profile:
    """The signed-in person's profile, created on first use (e.g. for createsuperuser)."""
    profile, _ = Profile.objects.select_related("user").get_or_create(user=user)
    return profile


def onboarding_redirect(request: HttpRequest, profile: Profile, step: str) -> HttpResponse:
    """After saving a step: the next onboarding step when onboarding, else stay on the page."""
    if request.GET.get("onboarding") or request.POST.get("onboarding"):
        following = next_step(profile, step)
        if following is not None:
            return redirect(following.url)
        profile.finish_onboarding()
        messages.success(request, "Your profile is ready. Welcome aboard!")
        return redirect("home")
    return redirect(request.path)


def onboarding_context(request: HttpRequest, profile: Profile, step: str) -> dict:
    if not request.GET.get("onboarding"):
        return {"onboarding": None}
    steps = steps_for(profile)
    keys = [s.key for s in steps]
    return {
        "onboarding": {
            "steps": steps,
            "current": step,
            "number": keys.index(step) + 1 if step in keys else 1,
            "total": len(steps),
        }
    }


# --- Onboarding and editing one's own profile ---------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def welcome(request: HttpRequest) -> HttpResponse:
    profile = profile_of(request.user)
    form = RolesForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        form.save()
        following = next_step(profile, "roles")
        return redirect(following.url)
    request.GET = request.GET.copy()
    request.GET["onboarding"] = "1"
    return TemplateResponse(
        request,
        "profiles/welcome.html",
        {"form": form, **onboarding_context(request, profile, "roles")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def edit_profile(request: HttpRequest) -> HttpResponse:
    profile = profile_of(request.user)
    form = ProfileForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your profile is saved.")
        return onboarding_redirect(request, profile, "profile")
    return TemplateResponse(
        request,
        "profiles/edit_profile.html",
        {
            "form": form,
            "completeness": completeness_of(profile),
            **onboarding_context(request, profile, "profile"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def goals(request: HttpRequest) -> HttpResponse:
    """The person's goals, and a form to add one."""
    profile = profile_of(request.user)
    form = GoalForm(request.POST or None)
    if request.method == "POST":
        if request.POST.get("continue") and request.user.goals.open().exists():
            return onboarding_redirect(request, profile, "goals")
        if form.is_valid():
            goal = form.save(commit=False)
            goal.owner = request.user
            goal.save()
            form.save_m2m()
            messages.success(request, f"Goal added: {goal.title}")
            return redirect(request.get_full_path())
    my_goals = request.user.goals.prefetch_related("skills")
    return TemplateResponse(
        request,
        "profiles/goals.html",
        {"form": form, "goals": my_goals, **onboarding_context(request, profile, "goals")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def edit_goal(request: HttpRequest, pk: int) -> HttpResponse:
    goal = get_object_or_404(request.user.goals, pk=pk)
    form = GoalForm(request.POST or None, instance=goal)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Goal saved.")
        return redirect("profiles:goals")
    return TemplateResponse(request, "profiles/edit_goal.html", {"form": form, "goal": goal})


@login_required
@require_http_methods(["GET", "POST"])
def delete_goal(request: HttpRequest, pk: int) -> HttpResponse:
    goal = get_object_or_404(request.user.goals, pk=pk)
    if request.method == "POST":
        goal.delete()
        messages.success(request, f"Goal deleted: {goal.title}")
        return redirect("profiles:goals")
    return TemplateResponse(request, "profiles/delete_goal.html", {"goal": goal})


@login_required
@require_http_methods(["GET", "POST"])
def offer(request: HttpRequest) -> HttpResponse:
    """What a mentor offers: time, formats, and the skills they can teach."""
    profile = profile_of(request.user)
    instance = MentorOffer.objects.filter(user=request.user).first()
    form = MentorOfferForm(request.POST or None, instance=instance, prefix="offer")
    expertise = ExpertiseFormSet(
        request.POST or None,
        queryset=Expertise.objects.filter(user=request.user).select_related("skill"),
        prefix="expertise",
        form_kwargs={"skill_choices": skill_choices_by_category()},
    )
    if request.method == "POST" and form.is_valid() and expertise.is_valid():
        with transaction.atomic():
            saved = form.save(commit=False)
            saved.user = request.user
            saved.save()
            rows = expertise.save(commit=False)
            for row in rows:
                row.user = request.user
                row.save()
            for row in expertise.deleted_objects:
                row.delete()
        messages.success(request, "Your mentor offer is saved.")
        return onboarding_redirect(request, profile, "offer")
    return TemplateResponse(
        request,
        "profiles/offer.html",
        {"form": form, "expertise": expertise, **onboarding_context(request, profile, "offer")},
    )


def skill_choices_by_category() -> list[tuple[str, list[tuple[int, str]]]]:
    """Skills grouped by category for a <select>, read once for a whole formset."""
    grouped: dict[str, list[tuple[int, str]]] = {}
    for pk, name, category in Skill.objects.order_by("category", "name").values_list(
        "pk", "name", "category"
    ):
        grouped.setdefault(category, []).append((pk, name))
    return list(grouped.items())


@login_required
@require_http_methods(["GET", "POST"])
def availability(request: HttpRequest) -> HttpResponse:
    """The week grid. htmx posts the whole grid on every change and gets the summary back."""
    profile = profile_of(request.user)
    form = AvailabilityForm(request.POST or None)
    window_form = WindowForm(prefix="window")
    if request.method == "POST":
        if "window-weekday" in request.POST:
            window_form = WindowForm(request.POST, prefix="window")
            if window_form.is_valid():
                profile.set_availability([*profile.windows(), window_form.window()])
                messages.success(request, f"Added {describe(window_form.window())}.")
                return redirect(request.get_full_path())
        elif form.is_valid():
            profile.set_availability(form.windows())
            if request.htmx:
                return TemplateResponse(
                    request,
                    "profiles/availability.html#availability-summary",
                    availability_context(profile),
                )
            messages.success(request, "Your availability is saved.")
            return onboarding_redirect(request, profile, "availability")
    return TemplateResponse(
        request,
        "profiles/availability.html",
        {
            "form": form,
            "window_form": window_form,
            **availability_context(profile),
            **onboarding_context(request, profile, "availability"),
        },
    )


def availability_context(profile: Profile) -> dict:
    windows = profile.windows()
    cells = cells_from_windows(windows)
    return {
        "profile": profile,
        "windows": [describe(w) for w in windows],
        "grid": [
            (day, name, [(hour, (day, hour) in cells) for hour in range(24)])
            for day, name in enumerate(WEEKDAYS)
        ],
        "hours": range(24),
        "saved_at": datetime.now(ZoneInfo(profile.timezone)),
    }


# --- Skills picker (htmx) ------------------------------------------------------------------------


@login_required
@require_GET
def skill_search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    results = Skill.objects.none()
    if len(query) >= 1:
        results = Skill.objects.filter(
            Q(name__icontains=query) | Q(synonyms__icontains=query) | Q(category__icontains=query)
        ).order_by("name")[:12]
    return TemplateResponse(
        request, "profiles/skill_search.html", {"results": results, "query": query}
    )


# --- People ---------------------------------------------------------------------------------------


def people_queryset(user: User):
    return (
        Profile.objects.listed_for(user)
        .select_related("user__offer")
        .prefetch_related(
            Prefetch(
                "user__expertise",
                queryset=Expertise.objects.select_related("skill").order_by(
                    "-level", "skill__name"
                ),
            )
        )
    )


@login_required
@require_GET
def people(request: HttpRequest) -> HttpResponse:
    profiles = people_queryset(request.user).order_by("user__name", "pk")
    role = request.GET.get("role", "")
    if role == "mentor":  # mentors who take requests: a paused one is no mentor to list
        profiles = profiles.filter(is_mentor=True).exclude(user__offer__accepting_requests=False)
    elif role == "mentee":
        profiles = profiles.filter(is_mentee=True)
    query = request.GET.get("q", "").strip()
    if query:
        profiles = profiles.filter(
            Q(user__name__icontains=query)
            | Q(headline__icontains=query)
            | Q(organisation__icontains=query)
        )
    page = Paginator(profiles, PEOPLE_PER_PAGE).get_page(request.GET.get("page"))
    context = {"page": page, "role": role, "query": query}
    if request.htmx:
        return TemplateResponse(request, "profiles/people.html#people-results", context)
    return TemplateResponse(request, "profiles/people.html", context)


@login_required
@require_GET
def person(request: HttpRequest, pk: int) -> HttpResponse:
    profile = get_object_or_404(
        people_queryset(request.user).prefetch_related(
            Prefetch("user__goals", queryset=Goal.objects.open().prefetch_related("skills")),
            "user__availability",
        ),
        user_id=pk,
    )
    windows = profile.windows()
    return TemplateResponse(
        request,
        "profiles/person.html",
        {
            "profile": profile,
            "person": profile.user,
            "offer": getattr(profile.user, "offer", None),
            "windows": [describe(w) for w in windows],
            "is_me": profile.user_id == request.user.pk,
            "local_time": datetime.now(ZoneInfo(profile.timezone)),
        },
    )


@login_required
@require_GET
def my_profile(request: HttpRequest) -> HttpResponse:
    profile_of(request.user)
    return redirect("profiles:person", pk=request.user.pk)


# --- The development outbox -----------------------------------------------------------------------


def _require_outbox_access(request: HttpRequest) -> None:
    # The outbox shows other people's one-time links: it exists only on a development server,
    # and only for staff. Everyone else gets the same 404 as for a page that does not exist.
    if not settings.DEBUG or not request.user.is_staff:
        raise Http404("The outbox is only available to staff when DEBUG is on.")


@require_GET
@login_required
def outbox(request: HttpRequest) -> HttpResponse:
    _require_outbox_access(request)
    page = Paginator(Email.objects.newest_first(), 25).get_page(request.GET.get("page"))
    return TemplateResponse(request, "profiles/outbox.html", {"page": page})


@require_GET
@login_required
def outbox_email(request: HttpRequest, pk: int) -> HttpResponse:
    _require_outbox_access(request)
    email = get_object_or_404(Email, pk=pk)
    return TemplateResponse(request, "profiles/outbox_email.html", {"email": email})
