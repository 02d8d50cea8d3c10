"""The cohort workspace, for the cohort's own admins only: every lookup goes through
`Cohort.objects.administered_by(request.user)`, so anyone else gets 404."""

from __future__ import annotations

import io
import uuid

from allauth.account.adapter import get_adapter
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from kombu.exceptions import OperationalError

from cohorts import charts, importer, matchrun, services
from cohorts import circles as cohort_circles
from cohorts.forms import AnnouncementForm, CircleForm, CohortForm, ImportForm, InviteForm
from cohorts.models import Cohort, Enrollment, MatchRun, PairRule, Placement, Proposal
from cohorts.tasks import publish as publish_task
from cohorts.tasks import run_matching
from conversations import actions as conversations
from conversations.actions import ConversationError
from matching import search
from matching.management.commands.suggest_mentors import write_suggestions
from matching.models import CircleMember
from mentorship.inputs import as_id, is_id
from profiles.models import Goal

PROPOSALS_PER_PAGE = 50
IMPORT_TTL = 60 * 60
SORTS = {
    "score": ("score", "pk"),
    "-score": ("-score", "pk"),
    "mentee": ("mentee__name", "pk"),
    "mentor": ("mentor__name", "pk"),
}


def cohort_for(request: HttpRequest, slug: str) -> Cohort:
    return get_object_or_404(Cohort.objects.administered_by(request.user), slug=slug)


@login_required
@require_GET
def cohort_list(request: HttpRequest) -> HttpResponse:
    cohorts = (
        Cohort.objects.administered_by(request.user)
        .annotate(people=Count("enrollments", distinct=True))
        .order_by("-created_at")
    )
    page = Paginator(cohorts, 20).get_page(request.GET.get("page"))
    return TemplateResponse(request, "cohorts/list.html", {"page": page})


@login_required
@require_http_methods(["GET", "POST"])
def create(request: HttpRequest) -> HttpResponse:
    if not request.user.is_staff:
        raise Http404  # staff create cohorts; the page does not exist for anyone else
    form = CohortForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        cohort = form.save()
        cohort.admins.add(request.user)
        messages.success(request, f"{cohort.name} is ready. Invite people or import a CSV.")
        return redirect(cohort)
    return TemplateResponse(request, "cohorts/form.html", {"form": form, "cohort": None})


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, slug: str) -> HttpResponse:
    cohort = cohort_for(request, slug)
    before = cohort.policy()
    form = CohortForm(request.POST or None, instance=cohort)
    preview = None
    if request.method == "POST" and form.is_valid():
        if "preview" not in request.POST:
            cohort = form.save()
            messages.success(request, "Saved. The next matching run uses this policy.")
            return redirect(cohort)
        # Nothing is saved: the form's unsaved cohort only gives the policy to compare.
        preview = matchrun.preview_policy(cohort, before, form.save(commit=False).policy())
    context = {"form": form, "cohort": cohort, "preview": preview}
    return TemplateResponse(request, "cohorts/form.html", context)


@login_required
@require_GET
def detail(request: HttpRequest, slug: str) -> HttpResponse:
    cohort = cohort_for(request, slug)
    counts = cohort.enrollments.aggregate(
        total=Count("pk"),
        mentees=Count("pk", filter=Q(role__in=["mentee", "both"])),
        mentors=Count("pk", filter=Q(role__in=["mentor", "both"])),
        joined=Count("pk", filter=Q(status=Enrollment.Status.JOINED)),
        declined=Count("pk", filter=Q(status=Enrollment.Status.DECLINED)),
    )
    return TemplateResponse(
        request,
        "cohorts/detail.html",
        {
            "cohort": cohort,
            "counts": counts,
            "run": services.latest_run(cohort),
            "pairs": cohort.placements.count(),
            "announcements": list(cohort.announcements.select_related("author")[:5]),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def announcements(request: HttpRequest, slug: str) -> HttpResponse:
    """Write to the cohort's participants (all, or one role) and see what was sent."""
    cohort = cohort_for(request, slug)
    form = AnnouncementForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            conversations.post_announcement(cohort=cohort, by=request.user, **form.cleaned_data)
        except ConversationError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                "Your announcement is on its way: to each person's notifications and email.",
            )
            return redirect("cohorts:announcements", slug=cohort.slug)
    sent = Paginator(cohort.announcements.select_related("author"), 20).get_page(
        request.GET.get("page")
    )
    return TemplateResponse(
        request, "cohorts/announcements.html", {"cohort": cohort, "form": form, "page": sent}
    )


@login_required
@require_http_methods(["GET", "POST"])
def people(request: HttpRequest, slug: str) -> HttpResponse:
    cohort = cohort_for(request, slug)
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        invited, kept = services.invite(
            cohort=cohort,
            emails=form.cleaned_data["emails"],
            role=form.cleaned_data["role"],
            by=request.user,
        )
        messages.success(
            request,
            f"Invited {invited} {'person' if invited == 1 else 'people'}"
            + (f"; {kept} already in the cohort." if kept else "."),
        )
        return redirect("cohorts:people", slug=slug)
    page = Paginator(services.roster(cohort), 50).get_page(request.GET.get("page"))
    rows = [(enrollment, services.stage_of(enrollment)) for enrollment in page.object_list]
    counts = cohort.enrollments.aggregate(
        **{status: Count("pk", filter=Q(status=status)) for status in Enrollment.Status.values}
    )
    return TemplateResponse(
        request,
        "cohorts/people.html",
        {"cohort": cohort, "form": form, "page": page, "rows": rows, "counts": counts},
    )


@csrf_exempt  # checked below, once the size is known to be within the limit
@require_http_methods(["GET", "POST"])
def import_people(request: HttpRequest, slug: str) -> HttpResponse:
    """An upload over the limit is refused from its Content-Length, before its body is read."""
    length = request.META.get("CONTENT_LENGTH") or "0"
    if request.method == "POST" and (not is_id(length) or int(length) > importer.MAX_REQUEST):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        cohort = cohort_for(request, slug)
        form = ImportForm(data={}, files={})
        form.errors["file"] = form.error_class([importer.too_large_message()])
        context = {"cohort": cohort, "form": form, "preview": None, "token": ""}
        return TemplateResponse(request, "cohorts/import.html", context, status=413)
    return _import_people(request, slug)


@csrf_protect
@login_required
def _import_people(request: HttpRequest, slug: str) -> HttpResponse:
    """Upload, preview with every row's errors, then confirm: nothing is written until then, and
    nothing at all while any row is wrong."""
    cohort = cohort_for(request, slug)
    form = ImportForm(request.POST or None, request.FILES or None)
    context = {"cohort": cohort, "form": form, "preview": None, "token": ""}
    if request.method == "POST" and "confirm" in request.POST:
        key = f"cohort-import:{cohort.pk}:{request.user.pk}:{request.POST.get('token', '')}"
        data = cache.get(key)
        if data is None:
            messages.error(request, "That preview has expired: upload the file again.")
            return redirect("cohorts:import", slug=slug)
        preview = importer.parse(data, cohort)
        if not preview.ok:
            context.update(preview=preview)
            return TemplateResponse(request, "cohorts/import.html", context)
        result = importer.apply(preview, cohort, by=request.user)
        cache.delete(key)
        messages.success(
            request,
            f"Imported {result.created + result.updated} people: {result.created} new accounts, "
            f"{result.updated} existing (left as they are), {result.enrolled} newly enrolled. "
            "Each new enrollment gets an invitation by email.",
        )
        return redirect("cohorts:people", slug=slug)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data["file"].read()
        preview = importer.parse(data, cohort)
        token = uuid.uuid4().hex
        if preview.ok:
            cache.set(f"cohort-import:{cohort.pk}:{request.user.pk}:{token}", data, IMPORT_TTL)
        context.update(preview=preview, token=token)
    return TemplateResponse(request, "cohorts/import.html", context)


@login_required
@require_GET
def import_template(request: HttpRequest) -> HttpResponse:
    """The import's columns with one example row, to fill in a spreadsheet."""
    response = HttpResponse(importer.template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="cohort-import-template.csv"'
    return response


@login_required
@require_POST
def start_matching(request: HttpRequest, slug: str) -> HttpResponse:
    cohort = cohort_for(request, slug)
    try:
        with transaction.atomic():
            run = MatchRun.objects.create(cohort=cohort, created_by=request.user)
    except IntegrityError:  # the database's one-busy-run-per-cohort constraint
        messages.warning(request, "Matching or publishing is already going; its progress is below.")
        return redirect("cohorts:review", slug=slug)
    try:
        run_matching.delay(run.pk)
    except OperationalError:
        run.delete()
        messages.error(
            request,
            "The task queue cannot be reached right now, so matching did not start and nothing "
            "changed. Try again in a minute; if it keeps happening, tell your site admin.",
        )
        return redirect("cohorts:review", slug=slug)
    if cohort.status in (Cohort.Status.DRAFT, Cohort.Status.ENROLLING):
        Cohort.objects.filter(pk=cohort.pk).update(status=Cohort.Status.MATCHING)
    if cohort.placements.exists():
        messages.info(
            request,
            "Matching the people not placed yet. Published pairs stay as they are; locked pairs "
            "are kept and removed ones avoided.",
        )
    else:
        messages.info(request, "Matching has started. Locked pairs are kept; removed ones avoided.")
    return redirect("cohorts:review", slug=slug)


@login_required
@require_GET
def run_status(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    cohort = cohort_for(request, slug)
    run = get_object_or_404(cohort.runs, pk=pk)
    response = TemplateResponse(
        request, "cohorts/review.html#run-progress", {"cohort": cohort, "run": run}
    )
    if not run.busy and request.htmx:
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_GET
def review(request: HttpRequest, slug: str) -> HttpResponse:
    cohort = cohort_for(request, slug)
    run = services.latest_run(cohort)
    sort = request.GET.get("sort", "-score")
    if sort not in SORTS:
        sort = "-score"
    page = unmatched = figures = None
    if run is not None and run.status == MatchRun.Status.DONE:
        proposals = run.proposals.select_related("mentee", "mentor").order_by(*SORTS[sort])
        page = Paginator(proposals, PROPOSALS_PER_PAGE).get_page(request.GET.get("page"))
        unmatched = list(run.unmatched.select_related("mentee").order_by("mentee__name"))
        figures = matchrun.figures(run)
    return TemplateResponse(
        request,
        "cohorts/review.html",
        {
            "cohort": cohort,
            "run": run,
            "page": page,
            "unmatched": unmatched,
            "figures": figures,
            "sort": sort,
            "published": cohort.placements.exists(),
        },
    )


def _proposal(cohort: Cohort, pk: int) -> Proposal:
    return get_object_or_404(
        Proposal.objects.select_related("run", "mentee", "mentor"), pk=pk, run__cohort=cohort
    )


def _back_to_review(cohort: Cohort, sort: str) -> HttpResponse:
    sort = sort if sort in SORTS else "-score"
    return redirect(f"{reverse('cohorts:review', args=[cohort.slug])}?sort={sort}")


@login_required
@require_POST
def proposal_action(request: HttpRequest, slug: str, pk: int, action: str) -> HttpResponse:
    cohort = cohort_for(request, slug)
    proposal = _proposal(cohort, pk)
    pair = f"{proposal.mentee.name} and {proposal.mentor.name}"
    kinds = {
        "lock": (PairRule.Kind.LOCK, f"Locked {pair}: every re-run keeps this pair."),
        "unlock": (None, f"Unlocked {pair}."),
        "remove": (
            PairRule.Kind.FORBID,
            f"Removed {pair}; re-runs will not propose them again.",
        ),
    }
    if action not in kinds:
        raise Http404
    kind, done = kinds[action]
    try:
        services.set_rule(cohort=cohort, proposal=proposal, kind=kind, by=request.user)
    except services.CohortError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, done)
    return _back_to_review(cohort, request.POST.get("sort", "-score"))


@login_required
@require_POST
def swap(request: HttpRequest, slug: str) -> HttpResponse:
    cohort = cohort_for(request, slug)
    ids = request.POST.getlist("selected")
    if len(ids) != 2 or not all(is_id(pk) for pk in ids):
        messages.error(request, "Select exactly two pairs to swap their mentors.")
        return redirect("cohorts:review", slug=slug)
    first, second = (_proposal(cohort, int(pk)) for pk in ids)
    try:
        services.swap(cohort=cohort, first=first, second=second, by=request.user)
    except services.CohortError as error:
        messages.error(request, f"Not swapped: {error}")
    else:
        messages.success(
            request,
            "Swapped the two mentors; scores and reasons are updated, and both new pairs are "
            "locked so a re-run keeps them.",
        )
    return redirect("cohorts:review", slug=slug)


@login_required
@require_http_methods(["GET", "POST"])
def publish(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """GET: what publishing this run will do (pairs, emails). POST: queue it, in Celery."""
    cohort = cohort_for(request, slug)
    run = get_object_or_404(cohort.runs.select_related("cohort"), pk=pk)
    problem = matchrun.publishable(run)
    if request.method == "GET":
        figures = matchrun.figures(run) if run.status == MatchRun.Status.DONE else None
        return TemplateResponse(
            request,
            "cohorts/publish.html",
            {"cohort": cohort, "run": run, "problem": problem, "figures": figures},
        )
    try:
        matchrun.request_publish(run, by=request.user)
    except matchrun.PublishError as error:
        messages.error(request, str(error))
        return redirect("cohorts:review", slug=slug)
    try:
        publish_task.delay(run.pk)
    except OperationalError:
        matchrun.cancel_publish(run.pk, "The task queue could not be reached; nothing changed.")
        messages.error(
            request,
            "The task queue cannot be reached right now, so nothing was published. Try again "
            "in a minute.",
        )
        return redirect("cohorts:review", slug=slug)
    messages.success(
        request, "Publishing has started. Each new pair gets its introduction by email."
    )
    return redirect("cohorts:review", slug=slug)


@login_required
@require_http_methods(["GET", "POST"])
def end_pair(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """End one of the cohort's published pairs, with a reason both people read."""
    cohort = cohort_for(request, slug)
    placement = get_object_or_404(
        Placement.objects.select_related("mentorship__mentee", "mentorship__mentor"),
        cohort=cohort,
        mentorship__pk=pk,
    )
    mentorship = placement.mentorship
    error = ""
    if request.method == "POST":
        try:
            services.end_pair(
                cohort=cohort,
                mentorship=mentorship,
                by=request.user,
                reason=request.POST.get("reason", "")[:2000],
            )
        except services.CohortError as problem:
            error = str(problem)
        else:
            messages.success(
                request,
                f"Ended the pair of {mentorship.mentee.name} and {mentorship.mentor.name}; both "
                "were told why. A re-run can match each of them with someone else.",
            )
            return redirect("cohorts:review", slug=slug)
    return TemplateResponse(
        request,
        "cohorts/end_pair.html",
        {"cohort": cohort, "mentorship": mentorship, "error": error},
        status=400 if error else 200,
    )


@login_required
@require_POST
def resend(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    cohort = cohort_for(request, slug)
    enrollment = get_object_or_404(cohort.enrollments, pk=pk)
    try:
        services.resend_invitation(enrollment=enrollment, by=request.user)
    except services.CohortError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"A new invitation is on its way to {enrollment.email}.")
    return redirect("cohorts:people", slug=slug)


@login_required
@require_GET
def suggestions(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """What a participant sees in Find a mentor and why, for the cohort's admin: the same list,
    computed as that person sees it. As a CSV with ?format=csv."""
    cohort = cohort_for(request, slug)
    enrollment = get_object_or_404(
        cohort.enrollments.select_related("user"), pk=pk, user__isnull=False
    )
    person = enrollment.user
    goals = list(Goal.objects.open().filter(owner=person).order_by("pk"))
    raw = request.GET.get("goal", "")
    goal = next((g for g in goals if g.pk == as_id(raw)), None)
    matches = search.suggestions(person, goal=goal, top=search.PER_PAGE)
    if request.GET.get("format") == "csv":
        out = io.StringIO()
        write_suggestions(out, matches)
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        name = f"{cohort.slug}-suggestions-{person.pk}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    context = {
        "cohort": cohort,
        "enrollment": enrollment,
        "person": person,
        "goals": goals,
        "goal": goal,
        "matches": matches,
    }
    return TemplateResponse(request, "cohorts/suggestions.html", context)


@login_required
@require_GET
def export(request: HttpRequest, slug: str) -> HttpResponse:
    cohort = cohort_for(request, slug)
    run = services.latest_run(cohort)
    if run is None or run.status != MatchRun.Status.DONE:
        raise Http404
    response = HttpResponse(services.pairs_csv(run), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="{cohort.slug}-pairs-{stamp}.csv"'
    return response


@login_required
@require_GET
def health(request: HttpRequest, slug: str) -> HttpResponse:
    cohort = cohort_for(request, slug)
    mentees = cohort.enrollments.filter(role__in=["mentee", "both"]).count()
    placements = Placement.objects.filter(cohort=cohort)
    active = placements.filter(mentorship__status="active")
    matched = active.values("mentorship__mentee").distinct().count()
    scores = [s for s in placements.values_list("score", flat=True) if s is not None]
    quiet_since = timezone.now() - timezone.timedelta(days=21)
    quiet = active.filter(mentorship__started_at__lte=quiet_since).count()
    return TemplateResponse(
        request,
        "cohorts/health.html",
        {
            "cohort": cohort,
            "enrolled": cohort.enrollments.count(),
            "joined": cohort.enrollments.filter(status=Enrollment.Status.JOINED).count(),
            "mentees": mentees,
            "matched": matched,
            "matched_share": round(100 * matched / mentees) if mentees else 0,
            "pairs": placements.count(),
            "active": active.count(),
            "quiet": quiet,
            "histogram": charts.histogram(scores, bins=10),
            "share_bar": charts.share_bar(matched, mentees),
        },
    )


def _join_page(request, context: dict, status: int = 200) -> HttpResponse:
    return TemplateResponse(request, "cohorts/join.html", context, status=status)


@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, token: str) -> HttpResponse:
    """The invitation link. Someone whose account was made for them chooses a password here and
    is signed in (the link then stops working for that); anyone else signs in first. Joining and
    declining are buttons (POST): a mail scanner that follows the link changes nothing."""
    enrollment, key = services.read_token(token)
    if enrollment is None:
        return _join_page(request, {"problem": "expired"}, status=404)
    context = {"enrollment": enrollment, "cohort": enrollment.cohort, "token": token}
    if not request.user.is_authenticated:
        if services.can_sign_in_with(enrollment, key):
            form = SetPasswordForm(enrollment.user, request.POST or None)
            if request.method == "POST" and form.is_valid():
                user = services.join_with_password(
                    enrollment=enrollment, password=form.cleaned_data["new_password1"]
                )
                get_adapter(request).login(request, user)
                messages.success(request, f"Welcome to {enrollment.cohort.name}!")
                return redirect("home")  # which sends a newcomer on to onboarding
            return _join_page(request, {**context, "form": form})
        if key and enrollment.user is not None:  # a sign-in link whose password is chosen
            return _join_page(request, {**context, "problem": "used"}, status=410)
        # Sign in (or sign up) first to join; declining needs no account.
        return _join_page(request, {**context, "sign_in": True})
    if enrollment.email.lower() != request.user.email.lower():
        return _join_page(request, {"problem": "other", "invited": enrollment.email}, status=403)
    if request.method == "POST":
        services.join(enrollment=enrollment, user=request.user)
        messages.success(request, f"Welcome to {enrollment.cohort.name}!")
        return redirect("home")
    return _join_page(request, context)


@require_POST
def decline(request: HttpRequest, token: str) -> HttpResponse:
    """Say no to an invitation: the link is proof enough, no sign-in needed."""
    enrollment, _ = services.read_token(token)
    if enrollment is None:
        return _join_page(request, {"problem": "expired"}, status=404)
    services.decline(enrollment=enrollment)
    return _join_page(request, {"problem": "declined", "cohort": enrollment.cohort})


@login_required
@require_http_methods(["GET", "POST"])
def circles(request: HttpRequest, slug: str) -> HttpResponse:
    """The cohort's circles: set them up, form them (members placed by the optimiser, with the
    reasons), review the proposal and publish it."""
    cohort = cohort_for(request, slug)
    form = CircleForm(request.POST or None, cohort=cohort)
    action = request.POST.get("action")
    if request.method == "POST":
        try:
            if action == "add" and form.is_valid():
                data = form.cleaned_data
                cohort_circles.add_circle(
                    cohort=cohort,
                    facilitator=data["facilitator"],
                    topic=data["topic"],
                    skills=list(data["skills"]),
                    kind=data["kind"],
                    size=data["size"],
                    weekday=data["weekday"],
                    start_minute=form.start_minute(),
                    duration_minutes=data["duration"],
                )
                messages.success(request, "The circle is set up.")
                return redirect("cohorts:circles", slug=slug)
            if action == "form":
                formed = cohort_circles.form_circles(cohort=cohort)
                messages.success(
                    request,
                    f"{len(formed.placed)} placed, {len(formed.unmatched)} left out: review, "
                    "then publish.",
                )
                return redirect("cohorts:circles", slug=slug)
            if action == "publish":
                joined = cohort_circles.publish_circles(cohort=cohort)
                messages.success(request, f"Published: {joined} people joined their circle.")
                return redirect("cohorts:circles", slug=slug)
        except cohort_circles.CircleError as error:
            if action == "add":
                form.add_error(None, str(error))
            else:
                messages.error(request, str(error))
                return redirect("cohorts:circles", slug=slug)
    rows = cohort_circles.cohort_circles(cohort)
    proposals = cohort.circle_proposals.select_related("user", "circle").order_by(
        "circle__topic", "-score", "pk"
    )
    by_circle: dict[int, list] = {}
    for proposal in proposals:
        by_circle.setdefault(proposal.circle_id, []).append(proposal)
    members = {}
    for seat in CircleMember.objects.filter(circle__in=rows, status=CircleMember.Status.ACTIVE):
        members[seat.circle_id] = members.get(seat.circle_id, 0) + 1
    for circle in rows:
        circle.proposed = by_circle.get(circle.pk, [])
        circle.member_count = members.get(circle.pk, 0)
    return TemplateResponse(
        request,
        "cohorts/circles.html",
        {
            "cohort": cohort,
            "form": form,
            "circles": rows,
            "left_out": cohort.circle_left_out.select_related("user").order_by("user__name"),
            "unpublished": proposals.filter(published_at__isnull=True).count(),
        },
        status=400 if request.method == "POST" else 200,
    )
