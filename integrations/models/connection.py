"""A portal's Salesforce connection: org, encrypted tokens, health and support switches.

Connection health lives in plain columns (status, error kind/code/message, since when, last
success), written with one targeted ``update()`` by ``integrations.salesforce.banners``; the banners
and the settings page read them. Tokens are stored encrypted (``integrations.salesforce.crypto``,
MultiFernet over ``FIELD_ENCRYPTION_KEYS``) and are never shown anywhere.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from thankview.models import Portal


class SalesforceConnection(models.Model):
    class Status(models.TextChoices):
        DISCONNECTED = "disconnected", "Disconnected"
        CONNECTED = "connected", "Connected"
        EXPIRED = "expired", "Session expired"
        ERROR = "error", "Error"

    class Environment(models.TextChoices):
        PRODUCTION = "production", "Production"
        SANDBOX = "sandbox", "Sandbox"
        MYDOMAIN = "mydomain", "My Domain"

    class ErrorKind(models.TextChoices):
        # The banners of the guide's "Error Messages and Fixes" that are stored on the
        # connection. "invalid_id" is computed from contacts, never stored.
        NONE = "", "No error"
        SESSION_EXPIRED = "session_expired", "Session or connection expired"
        PERMISSIONS = "permissions", "Insufficient permissions / API access disabled"
        MAPPING = "mapping", "Mapping error"
        CONNECTION = "connection", "Unable to connect to Salesforce"
        SERVICE = "service", "ThankView's connected-app credentials refused"

    portal = models.OneToOneField(Portal, on_delete=models.CASCADE, related_name="salesforce_connection")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DISCONNECTED)
    environment = models.CharField(max_length=20, choices=Environment.choices, default=Environment.PRODUCTION)
    login_url = models.URLField(max_length=255, blank=True)
    instance_url = models.URLField(max_length=255, blank=True)
    org_id = models.CharField("organization id", max_length=18, blank=True)
    # The org of the connection before the latest reconnect to a *different* org. The sync
    # keys every stored Salesforce record id by org id, so ids of this org are never written
    # into the new one.
    previous_org_id = models.CharField(max_length=18, blank=True)
    org_changed_at = models.DateTimeField(null=True, blank=True)
    user_id = models.CharField("Salesforce user id", max_length=18, blank=True)
    username = models.CharField(max_length=255, blank=True)
    display_name = models.CharField(max_length=255, blank=True)
    access_token_enc = models.TextField(blank=True, editable=False)
    refresh_token_enc = models.TextField(blank=True, editable=False)
    connected_at = models.DateTimeField(null=True, blank=True)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # Support-only switches (Django admin). Connecting and enabling sync are separate steps.
    sync_enabled = models.BooleanField(default=False)
    sync_enabled_at = models.DateTimeField(null=True, blank=True)
    # The latest pause (cleared on enable), so pages say "Paused by ThankView support since …"
    # rather than "Not enabled yet".
    sync_paused_at = models.DateTimeField(null=True, blank=True)
    sync_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Who last turned sync on or paused it.",
    )
    # Custom contact object: the ThankView__c lookup field, the object it points to and
    # that object's email field (default Contact__c → Contact.Email).
    contact_lookup_field = models.CharField(max_length=80, default="Contact__c")
    contact_object = models.CharField(max_length=80, default="Contact")
    contact_email_field = models.CharField(max_length=80, default="Email")

    error_kind = models.CharField(max_length=20, choices=ErrorKind.choices, blank=True, default="")
    error_code = models.CharField(max_length=80, blank=True)
    error_message = models.TextField(blank=True)
    error_detail = models.JSONField(default=dict, blank=True)
    error_since = models.DateTimeField(null=True, blank=True)
    error_notified_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)

    # From the Sforce-Limit-Info header of the latest REST response ("api-usage=18/5000").
    api_usage_used = models.PositiveIntegerField(null=True, blank=True)
    api_usage_max = models.PositiveIntegerField(null=True, blank=True)
    # Read by integrations.salesforce.budget. The latest GET /limits answer (DailyApiRequests,
    # DailyBulkApiRequests), read by every run and shown on the settings page.
    api_limits = models.JSONField(default=dict, blank=True)
    api_limits_at = models.DateTimeField(null=True, blank=True)
    # Support's cap on this portal's share of the org's daily API requests (several portals
    # may share one org): a run stops when the portal's calls of the last 24 hours reach it.
    api_cap_percent = models.PositiveSmallIntegerField(
        "API cap (% of the org's daily requests)", default=50,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="This portal's sync stops for the day once its API calls in the last 24 hours reach this share "
        "of the org's daily allocation; it resumes in a later cycle.",
    )

    # Summary of the latest describe of ThankView__c (see integrations.salesforce.schema).
    schema_cache = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "Salesforce connection"

    def __str__(self):
        return f"{self.portal} → Salesforce ({self.status})"

    # Tokens: ciphertext in the *_enc columns, plaintext only in memory.
    @property
    def access_token(self):
        from ..salesforce.crypto import decrypt

        return decrypt(self.access_token_enc)

    @access_token.setter
    def access_token(self, value):
        from ..salesforce.crypto import encrypt

        self.access_token_enc = encrypt(value)

    @property
    def refresh_token(self):
        from ..salesforce.crypto import decrypt

        return decrypt(self.refresh_token_enc)

    @refresh_token.setter
    def refresh_token(self, value):
        from ..salesforce.crypto import encrypt

        self.refresh_token_enc = encrypt(value)

    @property
    def is_connected(self):
        return self.status == self.Status.CONNECTED

    @property
    def has_tokens(self):
        return bool(self.access_token_enc or self.refresh_token_enc)

    @property
    def is_sandbox(self):
        return self.environment == self.Environment.SANDBOX
