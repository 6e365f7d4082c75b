"""Tenancy: a Portal is one customer's workspace; users reach it through a Membership."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

# First path segments the site itself uses; a portal slug may not take one of them.
RESERVED_SLUGS = frozenset(
    {"admin", "accounts", "api", "v", "t", "u", "w", "brand", "webhooks", "integrations", "static", "media", "health"}
)


def validate_portal_slug(value):
    if value.lower() in RESERVED_SLUGS:
        raise ValidationError(f"“{value}” is reserved by the site; choose another slug.")


validate_accent_color = RegexValidator(
    r"\A#[0-9a-fA-F]{6}\Z", "Enter the colour as # and six hex digits, e.g. #4b3fd8."
)


def validate_time_zone(value):
    if value not in available_timezones():
        raise ValidationError(f"“{value}” is not a time zone name; use one like Europe/London or America/New_York.")


class Portal(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True, validators=[validate_portal_slug])
    # db_default too: rows written by code that predates the column still get UTC.
    time_zone = models.CharField(
        max_length=64, default="UTC", db_default="UTC", validators=[validate_time_zone],
        help_text="Dates on the portal's pages are shown in this time zone (an IANA name such as "
        "America/New_York); the exact UTC time shows on hover.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Recipient pages' branding (portal settings). The logo is a checked PNG or JPEG
    # (thankview.branding); the accent colour, when set, colours their buttons. Empty by
    # default in the database too, so rows written by code that predates them still insert.
    logo = models.FileField(upload_to="portal-logos/", blank=True, max_length=200, default="", db_default="")
    accent_color = models.CharField(
        max_length=7, blank=True, validators=[validate_accent_color], default="", db_default=""
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def tzinfo(self) -> ZoneInfo:
        """The portal's time zone; UTC when the stored name is unknown to this machine."""
        try:
            return ZoneInfo(self.time_zone or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        STAFF = "staff", "Staff"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    portal = models.ForeignKey(Portal, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.STAFF)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "portal"], name="membership_unique_user_portal")]

    def __str__(self):
        return f"{self.user} in {self.portal} ({self.role})"

    @property
    def is_admin(self):
        return self.role == self.Role.ADMIN
