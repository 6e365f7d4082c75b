from django.contrib import admin
from django.utils import timezone

from .models import ApiKey, Campaign, EngagementEvent, PortalEmailSettings, Send, SendJob

# Actions that apps built on engagement add to the campaign list (the Salesforce integration
# adds "Re-sync selected campaigns"). Engagement does not know them; they register here when
# their admin module is loaded by admin autodiscovery.
campaign_actions: list = []


def campaign_action_register(action):
    """Add an admin action (a function, as ``ModelAdmin.actions`` takes) to the campaign list."""
    if action not in campaign_actions:
        campaign_actions.append(action)
    return action


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "portal", "created_at", "created_by"]
    list_filter = ["portal"]
    search_fields = ["name"]
    raw_id_fields = ["created_by"]
    actions = campaign_actions  # the same list object: registrations made later show up


@admin.register(Send)
class SendAdmin(admin.ModelAdmin):
    list_display = ["id", "campaign", "contact", "sent_at", "emailed_at", "email_failed_at"]
    list_filter = ["campaign__portal"]
    search_fields = ["contact__email", "campaign__name"]
    raw_id_fields = ["campaign", "contact"]
    readonly_fields = ["token", "created_at", "emailed_at", "email_failed_at", "email_error"]


@admin.register(EngagementEvent)
class EngagementEventAdmin(admin.ModelAdmin):
    """Read-only: events are facts; the state of a send is computed from them."""

    list_display = ["id", "send", "type", "occurred_at", "received_at"]
    list_filter = ["type"]
    search_fields = ["send__contact__email"]
    raw_id_fields = ["send"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "portal", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["portal"]
    readonly_fields = ["portal", "name", "prefix", "hashed_key", "created_by", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # keys are created by portal admins (shown once) or manage.py create_api_key

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at=None).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} key(s).")


@admin.register(PortalEmailSettings)
class PortalEmailSettingsAdmin(admin.ModelAdmin):
    list_display = ["portal", "updated_at"]


@admin.register(SendJob)
class SendJobAdmin(admin.ModelAdmin):
    """Read-only: how a press of "Send" went; ``engagement.services`` writes these."""

    list_display = ["id", "campaign", "status", "total", "sends", "skipped_unsubscribed", "skipped_bounced", "created_at"]
    list_filter = ["status"]
    raw_id_fields = ["campaign", "created_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
