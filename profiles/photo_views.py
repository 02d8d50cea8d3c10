"""A person's photo: seen by whoever may see their profile, changed only by them."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET, require_http_methods

from profiles import photos
from profiles.models import Profile

ACCEPT = "image/jpeg,image/png,image/webp,image/gif"


class PhotoForm(forms.Form):
    photo = forms.FileField(
        label="Your photo",
        help_text="A JPEG, PNG, WebP or GIF up to 5 MB. We crop it square and remove its "
        "metadata (camera, place).",
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/jpeg,image/png,image/webp,image/gif"}
        ),
    )


@login_required
@require_GET
def photo(request: HttpRequest, pk: int) -> HttpResponse:
    profile = get_object_or_404(Profile.objects.visible_to(request.user), user_id=pk)
    if not profile.photo:
        raise Http404
    try:
        handle = profile.photo.open("rb")
    except FileNotFoundError as error:
        raise Http404 from error
    response = FileResponse(handle, content_type="image/jpeg")
    patch_cache_control(response, private=True, max_age=3600)
    return response


@login_required
@require_http_methods(["GET", "POST"])
def edit_photo(request: HttpRequest) -> HttpResponse:
    profile, _ = Profile.objects.select_related("user").get_or_create(user=request.user)
    form = PhotoForm()
    status = 200
    if request.method == "POST" and request.POST.get("remove"):
        photos.remove_photo(profile=profile)
        messages.success(request, "Your photo is removed: your initials show instead.")
        return redirect("profiles:edit-photo")
    if request.method == "POST":
        form = PhotoForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                photos.set_photo(profile=profile, upload=form.cleaned_data["photo"])
            except photos.PhotoError as error:
                form.add_error("photo", str(error))
            else:
                messages.success(request, "Your photo is saved.")
                return redirect("profiles:edit-photo")
        status = 400
    return TemplateResponse(
        request, "profiles/photo.html", {"form": form, "profile": profile}, status=status
    )
