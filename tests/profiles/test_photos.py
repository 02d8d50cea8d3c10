"""Profile photos: checked, made square and stripped of metadata, seen only by who may see the
profile; initials otherwise."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from profiles import photos
from profiles.models import Profile, Visibility
from tests.conftest import make_person


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def nia(db):
    user = make_person("nia@example.org", name="Nia Okafor")
    Profile.objects.create(user=user, languages=["en"])
    return user


def camera_photo(width=1200, height=800, fmt="JPEG") -> bytes:
    """A photo as a phone takes it: with EXIF naming the camera and its software."""
    image = Image.new("RGB", (width, height), (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Model 12"  # Model
    exif[0x0131] = "Camera app 4.2"  # Software
    out = io.BytesIO()
    image.save(out, fmt, exif=exif)
    return out.getvalue()


def upload(client, data: bytes, name: str = "me.jpg", kind: str = "image/jpeg"):
    return client.post(
        reverse("profiles:edit-photo"), {"photo": SimpleUploadedFile(name, data, kind)}
    )


def test_an_uploaded_photo_is_square_resized_and_keeps_no_metadata(client, nia):
    assert Image.open(io.BytesIO(camera_photo())).getexif()  # the upload has it
    client.force_login(nia)
    assert upload(client, camera_photo()).status_code == 302
    profile = Profile.objects.get(user=nia)
    with profile.photo.open("rb") as stored, Image.open(stored) as image:
        assert image.format == "JPEG"
        assert image.size == (photos.SIZE, photos.SIZE)
        assert not image.getexif() and "exif" not in image.info
    page = client.get(reverse("profiles:person", args=[nia.pk])).text
    assert f'src="/people/{nia.pk}/photo/?v=' in page


@pytest.mark.parametrize(
    ("data", "name", "said"),
    [
        (b"not an image at all", "me.png", "This file is not a photo we can read."),
        (camera_photo(fmt="TIFF"), "me.tiff", "Upload a JPEG, PNG, WebP or GIF photo."),
        (b"\xff" * (photos.MAX_BYTES + 1), "big.jpg", "The photo is larger than 5 MB"),
    ],
    ids=["text", "tiff", "too-large"],
)
def test_a_file_that_is_not_a_usable_photo_is_refused_beside_the_field(
    client, nia, data, name, said
):
    client.force_login(nia)
    response = upload(client, data, name)
    assert response.status_code == 400
    assert any(said in error for error in response.context["form"].errors["photo"])
    assert not Profile.objects.get(user=nia).photo


def test_a_photo_is_seen_only_by_who_may_see_the_profile(client, nia):
    client.force_login(nia)
    upload(client, camera_photo())
    url = reverse("profiles:photo", args=[nia.pk])
    assert client.get(url)["Content-Type"] == "image/jpeg"
    other = make_person("otto@example.org", name="Otto Other")
    client.force_login(other)
    assert client.get(url).status_code == 200
    Profile.objects.filter(user=nia).update(visibility=Visibility.HIDDEN)
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302  # to sign in


def test_without_a_photo_people_see_initials_and_a_removed_photo_is_gone(client, nia):
    client.force_login(nia)
    page = client.get(reverse("profiles:person", args=[nia.pk])).text
    assert 'aria-hidden="true">NO</span>' in page
    upload(client, camera_photo())
    name = Profile.objects.get(user=nia).photo.name
    storage = Profile._meta.get_field("photo").storage
    assert storage.exists(name)
    response = client.post(reverse("profiles:edit-photo"), {"remove": "1"})
    assert response.status_code == 302
    assert not Profile.objects.get(user=nia).photo


def test_my_data_holds_my_photo(client, nia):
    client.force_login(nia)
    upload(client, camera_photo())
    archive = client.post(reverse("profiles:my-data"))
    with zipfile.ZipFile(io.BytesIO(archive.getvalue())) as zipped:
        assert "photo.jpg" in zipped.namelist()
