from django.contrib import admin

from . import services
from .models import Contact, ContactImport


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("email", "first_name", "last_name", "donor_id", "donor_id_status", "portal", "updated_at")
    list_filter = ("portal", "donor_id_status")
    search_fields = ("email_normalized", "first_name", "last_name", "donor_id")
    list_select_related = ("portal",)
    readonly_fields = ("email_normalized", "donor_id_status", "donor_id_reason", "created_at", "updated_at")
    fields = (
        "portal", "email", "email_normalized", "first_name", "last_name", "donor_id", "donor_id_status",
        "donor_id_reason", "unsubscribed_at", "bounced_at", "created_at", "updated_at",
    )
    raw_id_fields = ("portal",)
    # Counting 100,000 rows on every changelist page is wasted work.
    show_full_result_count = False

    def save_model(self, request, obj, form, change):
        # Keep the derived columns (normalised email, Donor ID verdict, search text) in step.
        if change:
            services.contact_update(
                contact=obj, **{name: form.cleaned_data[name] for name in services.EDITABLE_FIELDS}
            )
        else:
            services.contact_upsert_many(
                portal=obj.portal,
                rows=[{name: form.cleaned_data[name] for name in services.EDITABLE_FIELDS}],
            )
            obj.pk = obj.portal.contacts.get(email_normalized=obj.email.strip().casefold()).pk


@admin.register(ContactImport)
class ContactImportAdmin(admin.ModelAdmin):
    """Read-only: support can see how an import went; ``contacts.services`` writes them."""

    list_display = ("filename", "portal", "status", "total_rows", "created", "updated", "rejected", "created_at")
    list_filter = ("status",)
    list_select_related = ("portal",)
    raw_id_fields = ("portal", "created_by")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
