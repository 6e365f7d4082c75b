"""A portal's branding on recipient pages: its logo (a checked PNG or JPEG) and an accent
colour. Recipients' pages get both from ``/brand/<portal id>/...`` (``thankview.views``),
so no page needs an inline style.
"""

import hashlib
import io
import secrets

from django.core.exceptions import ValidationError
from PIL import Image, UnidentifiedImageError

LOGO_MAX_BYTES = 512 * 1024
LOGO_MAX_SIDE = 4000  # pixels; larger images are refused before they are decoded
LOGO_FORMATS = {"PNG": ("png", "image/png"), "JPEG": ("jpg", "image/jpeg")}
LOGO_CONTENT_TYPES = {ext: content_type for ext, content_type in LOGO_FORMATS.values()}


def logo_check(upload):
    """The upload's file extension if it is a PNG or JPEG logo we accept, else ValidationError.

    The browser's name and content type are not trusted: Pillow reads the file. SVG is
    refused (it can carry script), and so is anything over ``LOGO_MAX_BYTES``.
    """
    if upload.size > LOGO_MAX_BYTES:
        raise ValidationError(f"The logo is larger than {LOGO_MAX_BYTES // 1024} KB. Upload a smaller PNG or JPEG.")
    data = upload.read()
    upload.seek(0)
    if b"<svg" in data[:1024].lower():
        raise ValidationError("SVG logos are not accepted. Upload the logo as a PNG or JPEG.")
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind, (width, height) = image.format, image.size
            if kind not in LOGO_FORMATS:
                raise ValidationError("Upload the logo as a PNG or JPEG.")
            if max(width, height) > LOGO_MAX_SIDE:
                raise ValidationError(f"The logo is larger than {LOGO_MAX_SIDE} pixels on a side.")
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValidationError("That file is not a PNG or JPEG image we can read.") from None
    return LOGO_FORMATS[kind][0]


def portal_branding_update(*, portal, accent_color, logo=None, logo_ext=None, remove_logo=False):
    """Save the portal's accent colour and replace (or remove) its logo; the old file goes."""
    old = portal.logo.name if portal.logo else ""
    if logo is not None:
        portal.logo.save(f"{portal.pk}-{secrets.token_hex(8)}.{logo_ext}", logo, save=False)
    elif remove_logo:
        portal.logo = ""
    portal.accent_color = accent_color.lower()
    portal.full_clean()
    portal.save(update_fields=["logo", "accent_color"])
    if old and old != (portal.logo.name if portal.logo else ""):
        portal.logo.storage.delete(old)
    return portal


def accent_text_color(accent):
    """Black or white, whichever reads better on ``accent`` (WCAG relative luminance): one
    of the two always reaches a contrast of at least 4.5:1."""
    r, g, b = (int(accent[i : i + 2], 16) / 255 for i in (1, 3, 5))

    def linear(c):
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    return "#000000" if (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) else "#ffffff"


def branding_version(portal):
    """Changes whenever the logo or colour does, so their URLs can be cached for long."""
    return hashlib.sha256(f"{portal.logo.name}|{portal.accent_color}".encode()).hexdigest()[:12]
