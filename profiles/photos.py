"""Profile photos: an upload checked (size, type, pixels), turned upright, cropped square,
resized and saved again as a JPEG, which drops every piece of metadata (EXIF: camera, GPS...).
Photos are served by `profiles.views.photo` to whoever may see the profile, never as public files.
"""

from __future__ import annotations

import io
import uuid

from django.core.files.base import ContentFile
from django.db import transaction
from PIL import Image, ImageOps, UnidentifiedImageError

from profiles.models import Profile

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 40-megapixel photo; more is a decompression bomb, not a portrait
SIZE = 320  # pixels, square: sharp at the largest avatar on a high-density screen
FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}


class PhotoError(ValueError):
    """What is wrong with an upload, for the person who sent it."""


def processed(upload) -> bytes:
    """The upload as a clean square JPEG, or PhotoError."""
    if upload.size > MAX_BYTES:
        raise PhotoError("The photo is larger than 5 MB: choose a smaller one.")
    try:
        with Image.open(upload) as image:
            if image.format not in FORMATS:
                raise PhotoError("Upload a JPEG, PNG, WebP or GIF photo.")
            if image.width * image.height > MAX_PIXELS:
                raise PhotoError("The photo has too many pixels: choose a smaller one.")
            image.verify()
        upload.seek(0)
        with Image.open(upload) as image:
            image = ImageOps.exif_transpose(image)
            square = ImageOps.fit(image.convert("RGB"), (SIZE, SIZE))
    except PhotoError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        raise PhotoError("This file is not a photo we can read.") from error
    out = io.BytesIO()
    square.save(out, "JPEG", quality=85, optimize=True)  # no exif= given: none is written
    return out.getvalue()


@transaction.atomic
def set_photo(*, profile: Profile, upload) -> None:
    data = processed(upload)
    remove_photo(profile=profile)
    profile.photo.save(f"{profile.user_id}-{uuid.uuid4().hex[:12]}.jpg", ContentFile(data))


def remove_photo(*, profile: Profile) -> None:
    if profile.photo:
        name = profile.photo.name
        profile.photo = ""
        profile.save(update_fields=["photo", "updated_at"])
        storage = Profile._meta.get_field("photo").storage
        transaction.on_commit(lambda: storage.delete(name))
