"""The cohort workspace, for the cohort's own admins only: every lookup goes through
`Cohort.objects.administered_by(request.user)`, so anyone else gets 404."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cohorts import charts, importer, matchrun, services
from cohorts.forms import CohortForm, ImportForm, InviteForm
from cohorts.models import Cohort, Enrollment, MatchRun, PairRule, Placement, Proposal
from cohorts.tasks import run_matching

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
    form = CohortForm(request.POST or None, instance=cohort)
    if request.method == "POST" and form.is_valid():
        cohort = form.save()
        messages.success(request, "Saved. The next matching run uses this policy.")
        return redirect(cohort)
    return TemplateResponse(request, "cohorts/form.html", {"form": form, "cohort": cohort})


@login_required
@require_GET
def detail(request: HttpRequest, slug: str) -> HttpResponse:
    cohort = cohort_for(request, slug)
    counts = cohort.enrollments.aggregate(
        total=Count("pk"),
        mentees=Count("pk", filter=Q(role__in=["mentee", "both"])),
        mentors=Count("pk", filter=Q(role__in=["mentor", "both"])),
        joined=Count("pk", filter=Q(status=Enrollment.Status.JOINED)),
    )
    return TemplateResponse(
        request,
        "cohorts/detail.html",
        {
            "cohort": cohort,
            "counts": counts,
            "run": services.latest_run(cohort),
            "pairs": cohort.placements.count(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def people(request: HttpRequest, slug: str) -> HttpResponse:
    cohort = cohort_for(request, slug)
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        invited, kept = services.invite(
            cohort, form.cleaned_data["emails"], form.cleaned_data["role"]
        )
        messages.success(
            request,
            f"Invited {invited} {'person' if invited == 1 else 'people'}"
            + (f"; {kept} already in the cohort." if kept else "."),
        )
        return redirect("cohorts:people", slug=slug)
    page = Paginator(services.roster(cohort), 50).get_page(request.GET.get("page"))
    rows = [(enrollment, services.stage_of(enrollment)) for enrollment in page.object_list]
    return TemplateResponse(
        request,
        "cohorts/people.html",
        {"cohort": cohort, "form": form, "page": page, "rows": rows},
    )


@login_required
@require_http_methods(["GET", "POST"])
def import_people(request: HttpRequest, slug: str) -> HttpResponse:
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
        result = importer.apply(preview, cohort)
        cache.delete(key)
        messages.success(
            request,
            f"Imported {result.created + result.updated} people: {result.created} new, "
            f"{result.updated} updated, {result.enrolled} enrolled.",
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
@require_POST
def start_matching(request: HttpRequest, slug: str) -> HttpResponse:
    cohort = cohort_for(request, slug)
    busy = cohort.runs.filter(status__in=[MatchRun.Status.QUEUED, MatchRun.Status.RUNNING])
    if busy.exists():
        messages.warning(request, "A matching run is already going; its progress is below.")
        return redirect("cohorts:review", slug=slug)
    run = MatchRun.objects.create(cohort=cohort, created_by=request.user)
    if cohort.status in (Cohort.Status.DRAFT, Cohort.Status.ENROLLING):
        Cohort.objects.filter(pk=cohort.pk).update(status=Cohort.Status.MATCHING)
    transaction.on_commit(lambda: run_matching.delay(run.pk))
    messages.info(request, "Matching has started. Locked pairs are kept; forbidden ones avoided.")
    return redirect("cohorts:review", slug=slug)


@login_required
@require_GET
def run_status(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    cohort = cohort_for(request, slug)
    run = get_object_or_404(cohort.runs, pk=pk)
    response = TemplateResponse(
        request, "cohorts/review.html#run-progress", {"cohort": cohort, "run": run}
    )
    if run.finished and request.htmx:
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
    page = unmatched = None
    if run is not None and run.status == MatchRun.Status.DONE:
        proposals = run.proposals.select_related("mentee", "mentor").order_by(*SORTS[sort])
        page = Paginator(proposals, PROPOSALS_PER_PAGE).get_page(request.GET.get("page"))
        unmatched = run.unmatched.select_related("mentee").order_by("mentee__name")
    return TemplateResponse(
        request,
        "cohorts/review.html",
        {
            "cohort": cohort,
            "run": run,
            "page": page,
            "unmatched": unmatched,
            "sort": sort,
            "published": cohort.placements.exists(),
        },
    )


def _proposal(cohort: Cohort, pk: int) -> Proposal:
    return get_object_or_404(
        Proposal.objects.select_related("run", "mentee", "mentor"), pk=pk, run__cohort=cohort
    )


@login_required
@require_POST
def proposal_action(request: HttpRequest, slug: str, pk: int, action: str) -> HttpResponse:
    cohort = cohort_for(request, slug)
    proposal = _proposal(cohort, pk)
    pair = f"{proposal.mentee.name} and {proposal.mentor.name}"
    if action == "lock":
        services.set_rule(cohort, proposal, PairRule.Kind.LOCK)
        messages.success(request, f"Locked {pair}: every re-run keeps this pair.")
    elif action == "unlock":
        services.set_rule(cohort, proposal, None)
        messages.success(request, f"Unlocked {pair}.")
    elif action == "remove":
        services.set_rule(cohort, proposal, PairRule.Kind.FORBID)
        messages.success(request, f"Removed {pair}; re-runs will not propose them again.")
    else:
        raise Http404
    return redirect(f"{cohort.get_absolute_url()}review/?sort={request.POST.get('sort', '-score')}")


@login_required
@require_POST
def swap(request: HttpRequest, slug: str) -> HttpResponse:
    cohort = cohort_for(request, slug)
    ids = request.POST.getlist("selected")
    if len(ids) != 2:
        messages.error(request, "Select exactly two pairs to swap their mentors.")
        return redirect("cohorts:review", slug=slug)
    first, second = (_proposal(cohort, int(pk)) for pk in ids)
    problem = services.swap(cohort, first, second)
    if problem:
        messages.error(request, f"Not swapped: {problem}")
    else:
        messages.success(request, "Swapped the two mentors; scores and reasons are updated.")
    return redirect("cohorts:review", slug=slug)


@login_required
@require_POST
def publish(request: HttpRequest, slug: str) -> HttpResponse:
    cohort = cohort_for(request, slug)
    run = services.latest_run(cohort)
    if run is None or run.status != MatchRun.Status.DONE:
        messages.error(request, "There is nothing to publish yet: run matching first.")
        return redirect("cohorts:review", slug=slug)
    created = matchrun.publish(run)
    if created:
        messages.success(
            request, f"Published {created} pairs. Each pair gets its introduction by email."
        )
    else:
        messages.info(request, "Every pair was already published; no email was sent twice.")
    return redirect("cohorts:review", slug=slug)


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
    placements = Placement.objects.filter(cohort=cohort).select_related("mentorship")
    matched = placements.values("mentorship__mentee").distinct().count()
    run = cohort.runs.filter(published_at__isnull=False).order_by("-published_at").first()
    scores = list(run.proposals.values_list("score", flat=True)) if run else []
    quiet_since = timezone.now() - timezone.timedelta(days=21)
    quiet = placements.filter(
        mentorship__status="active", mentorship__started_at__lte=quiet_since
    ).count()
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
            "quiet": quiet,
            "histogram": charts.histogram(scores, bins=10),
            "share_bar": charts.share_bar(matched, mentees),
        },
    )


@login_required
@require_GET
def join(request: HttpRequest, token: str) -> HttpResponse:
    """The invitation link: sign in (or sign up) first, then this enrols the person."""
    enrollment = services.enrollment_from_token(token)
    if enrollment is None:
        return TemplateResponse(request, "cohorts/join.html", {"problem": "expired"}, status=404)
    if enrollment.email.lower() != request.user.email.lower():
        return TemplateResponse(
            request,
            "cohorts/join.html",
            {"problem": "other", "invited": enrollment.email},
            status=403,
        )
    services.join(enrollment, request.user)
    messages.success(request, f"Welcome to {enrollment.cohort.name}!")
    return redirect("home")  # which sends a newcomer on to onboarding
