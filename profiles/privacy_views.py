"""The signed-in person's own data: download it, or delete the account. Neither URL names
anyone: each acts on request.user alone, so nobody (a cohort admin, staff) can reach another
person's export or account through them."""

from __future__ import annotations

from allauth.core import ratelimit
from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_http_methods

from matching.models import Mentorship
from profiles import privacy
from profiles.models import User

CONFIRMATION_WORD = "DELETE"


@login_required
@require_http_methods(["GET", "POST"])
def my_data(request: HttpRequest) -> HttpResponse:
    """GET explains what the archive holds; POST downloads it."""
    if request.method == "POST":
        response = HttpResponse(
            privacy.export_archive(user=request.user), content_type="application/zip"
        )
        response["Content-Disposition"] = f'attachment; filename="{privacy.archive_name()}"'
        return response
    return TemplateResponse(request, "profiles/my_data.html")


class DeleteAccountForm(forms.Form):
    """The person proves it is them (their password, or a typed word for an account that has
    none) and says they understand."""

    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    understood = forms.BooleanField(label="I understand that this cannot be undone.")

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        if not user.has_usable_password():
            self.fields["password"] = forms.CharField(
                label=f"Type {CONFIRMATION_WORD} to confirm",
                help_text="Your account has no password, so type the word instead.",
                widget=forms.TextInput(attrs={"autocomplete": "off"}),
            )

    def clean_password(self) -> str:
        value = self.cleaned_data["password"]
        if self.user.has_usable_password():
            if not self.user.check_password(value):
                raise forms.ValidationError("That is not your password.", code="wrong_password")
        elif value.strip() != CONFIRMATION_WORD:
            raise forms.ValidationError(
                f"Type the word {CONFIRMATION_WORD}, in capitals.", code="wrong_word"
            )
        return value


@login_required
@require_http_methods(["GET", "POST"])
def delete_account(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = DeleteAccountForm(request.POST if request.method == "POST" else None, user=user)
    if request.method == "POST":
        # Guessing the password here is limited like allauth's own re-authentication.
        if not ratelimit.consume(request, action="reauthenticate", user=user):
            return ratelimit.respond_429(request)
        if form.is_valid():
            privacy.erase_account(user=user)
            logout(request)
            messages.success(
                request, "Your account is deleted. Thank you for the time you gave to others."
            )
            return redirect("home")
    ending = Mentorship.objects.active().involving(user).select_related("mentor", "mentee")
    return TemplateResponse(
        request,
        "profiles/delete_account.html",
        {
            "form": form,
            "ending": [m.mentee if m.mentor_id == user.pk else m.mentor for m in ending],
        },
        status=400 if form.is_bound else 200,
    )
