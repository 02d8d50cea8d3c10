from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import BaseUserCreationForm, UserChangeForm
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import urlencode

from audit import services as audit
from audit.models import AuditEntry
from mentorship.inputs import is_id
from profiles import outbox
from profiles.models import Email, Expertise, Goal, Skill, User
from profiles.services import merge_skills


class UserCreationForm(BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "name")


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


ROLE_FIELDS = ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")


def shown(value: object) -> object:
    """A role field's value as the audit log keeps it: groups and permissions by name."""
    if isinstance(value, bool) or value is None:
        return value
    return sorted(str(item) for item in value)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Changes to who may do what (staff, superuser, groups, active) and deletions are
    written to the audit log in the admin's own transaction."""

    add_form = UserCreationForm
    form = UserEditForm
    ordering = ("email",)
    list_display = ("email", "name", "is_staff", "is_active", "date_joined")
    search_fields = ("email", "name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "name", "password1", "password2")}),
    )

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)  # groups are saved here
        changed = [name for name in ROLE_FIELDS if change and name in form.changed_data]
        if changed:
            audit.record(
                action=AuditEntry.Action.ROLE_CHANGE,
                by=request.user,
                target=audit.person_label(form.instance),
                detail={
                    "user": form.instance.pk,
                    **{
                        name: [shown(form.initial.get(name)), shown(form.cleaned_data[name])]
                        for name in changed
                    },
                },
            )

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        with transaction.atomic():
            self._record_deletions(request, [obj])
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        with transaction.atomic():
            self._record_deletions(request, list(queryset))
            super().delete_queryset(request, queryset)

    def _record_deletions(self, request: HttpRequest, users: list[User]) -> None:
        # The person is gone: the log names the account by number only, not by name or address.
        for user in users:
            audit.record(
                action=AuditEntry.Action.DELETE_ACCOUNT,
                by=request.user,
                target=f"Account #{user.pk}",
                detail={"user": user.pk, "via": "admin", "was_staff": user.is_staff},
            )


@admin.register(Email)
class EmailAdmin(admin.ModelAdmin):
    """The outbox for staff: what failed and why, and Resend."""

    list_display = ("subject", "kind", "status", "attempts", "next_attempt_at", "sent_at", "error")
    list_filter = ("status", "kind")
    search_fields = ("subject",)
    readonly_fields = (
        "to",
        "subject",
        "body_text",
        "body_html",
        "headers",
        "kind",
        "message_id",
        "status",
        "attempts",
        "next_attempt_at",
        "lease_until",
        "error",
        "created_at",
        "sent_at",
    )
    actions = ("resend",)

    @admin.action(description="Resend the selected emails")
    def resend(self, request, queryset):
        count = outbox.resend(queryset)
        self.message_user(request, f"{count} email{'s' if count != 1 else ''} queued again.")

    def has_add_permission(self, request) -> bool:
        return False


class MergeSkillsForm(forms.Form):
    """Which of the selected skills survives the merge; the ids travel along as a hidden field."""

    ids = forms.CharField(widget=forms.HiddenInput)
    keep = forms.ModelChoiceField(
        queryset=Skill.objects.none(),
        widget=forms.RadioSelect,
        empty_label=None,
        label="Skill to keep",
        error_messages={"required": "Choose the skill to keep."},
    )

    def __init__(self, *args, skills: list[Skill], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["keep"].queryset = Skill.objects.filter(pk__in=[skill.pk for skill in skills])


def parse_ids(raw: str) -> list[int]:
    """Read "3,7,12" as [3, 7, 12], dropping anything that is not a whole number."""
    return sorted({int(part) for part in raw.split(",") if is_id(part)})


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ("name", "category", "synonyms")
    list_filter = ("category",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("related",)
    list_per_page = 100
    actions = ("merge_selected",)

    merge_template = "admin/profiles/skill/merge.html"

    def get_urls(self):
        opts = self.opts
        merge = path(
            "merge/",
            self.admin_site.admin_view(self.merge_view),
            name=f"{opts.app_label}_{opts.model_name}_merge",
        )
        return [merge, *super().get_urls()]

    @admin.action(
        description="Merge selected skills into the first chosen…", permissions=["change", "delete"]
    )
    def merge_selected(
        self, request: HttpRequest, queryset: QuerySet[Skill]
    ) -> HttpResponse | None:
        ids = sorted(queryset.values_list("pk", flat=True))
        if len(ids) < 2:
            self.message_user(request, "Select at least two skills to merge.", messages.WARNING)
            return None
        query = urlencode({"ids": ",".join(map(str, ids))})
        return HttpResponseRedirect(f"{reverse('admin:profiles_skill_merge')}?{query}")

    def merge_view(self, request: HttpRequest) -> HttpResponse:
        """GET: the confirmation page, where staff pick the skill to keep. POST: the merge."""
        if not (self.has_change_permission(request) and self.has_delete_permission(request)):
            raise PermissionDenied
        changelist = reverse("admin:profiles_skill_changelist")
        data = request.POST if request.method == "POST" else request.GET
        skills = list(
            Skill.objects.filter(pk__in=parse_ids(data.get("ids", "")))
            .annotate(
                goal_count=Count("goals", distinct=True),
                expertise_count=Count("expertise", distinct=True),
            )
            .order_by("name")
        )
        if len(skills) < 2:
            self.message_user(
                request,
                "Select at least two skills to merge, then choose the action again.",
                messages.WARNING,
            )
            return HttpResponseRedirect(changelist)
        ids = ",".join(str(skill.pk) for skill in sorted(skills, key=lambda skill: skill.pk))

        if request.method == "POST":
            form = MergeSkillsForm(request.POST, skills=skills)
            if form.is_valid():
                keep = form.cleaned_data["keep"]
                others = [skill for skill in skills if skill.pk != keep.pk]
                with transaction.atomic():
                    goals = Goal.objects.filter(skills__in=others).distinct().count()
                    expertise = Expertise.objects.filter(skill__in=others).count()
                    try:
                        keep = merge_skills(keep=keep, others=others)
                    except Skill.DoesNotExist as error:
                        self.message_user(request, str(error), messages.ERROR)
                        return HttpResponseRedirect(changelist)
                self.message_user(
                    request,
                    f"Merged {len(others)} skill{'s' * (len(others) != 1)} into “{keep.name}”: "
                    f"{goals} goal{'s' * (goals != 1)} and {expertise} expertise "
                    f"entr{'ies' if expertise != 1 else 'y'} now use it.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(changelist)
        else:
            # Preselect the skill most in use: merging into it moves the fewest rows.
            most_used = max(skills, key=lambda s: (s.goal_count + s.expertise_count, -s.pk))
            form = MergeSkillsForm(initial={"ids": ids, "keep": most_used.pk}, skills=skills)

        chosen = str(form["keep"].value() or "")
        context = {
            **self.admin_site.each_context(request),
            "title": "Merge skills",
            "subtitle": f"{len(skills)} skills selected",
            "opts": self.opts,
            "skills": skills,
            "chosen": chosen,
            "form": form,
            "ids": ids,
            "changelist_url": changelist,
        }
        return TemplateResponse(request, self.merge_template, context)
