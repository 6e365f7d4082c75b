from django.contrib import admin

from . import services
from .models import Contact


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
