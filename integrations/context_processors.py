"""Error banners for every portal page.

Shown to portal admins on every portal page, and to every member on the Salesforce
settings page. Cost: one query for the connection and, only when connected, one indexed
count of contacts with an invalid Donor ID (index on (portal, donor_id_status)).
"""

from django.urls import NoReverseMatch, reverse

from .salesforce import errors


def banners(request):
    portal = getattr(request, "portal", None)
    membership = getattr(request, "membership", None)
    if portal is None or membership is None:
        return {}
    match = getattr(request, "resolver_match", None)
    on_settings = bool(match and match.view_name == "integrations:salesforce_settings")
    if not (membership.is_admin or on_settings):
        return {}
    from .models import SalesforceConnection

    conn = (
        SalesforceConnection.objects.filter(portal=portal)
        .only("id", "status", "environment", "login_url", "error_kind", "error_code", "error_message", "error_detail", "error_since", "access_token_enc", "refresh_token_enc")
        .first()
    )
    if conn is None or not conn.has_tokens:
        return {}
    shown = []
    if conn.error_kind in errors.STORED_KINDS:
        shown.append(
            {
                "kind": conn.error_kind,
                "text": errors.BANNERS[conn.error_kind],
                "code": conn.error_code,
                "message": conn.error_message,
                "fields": (conn.error_detail or {}).get("fields") or [],
                "since": conn.error_since,
            }
        )
    invalid = _invalid_donor_id_count(portal)
    if invalid:
        shown.append(
            {
                "kind": errors.INVALID_ID,
                "text": errors.BANNERS[errors.INVALID_ID],
                "count": invalid,
                "contacts_url": _contacts_invalid_url(portal),
            }
        )
    return {"salesforce_banners": shown, "salesforce_banner_connection": conn, "salesforce_banner_is_admin": membership.is_admin}


def _invalid_donor_id_count(portal):
    try:
        from contacts.models import Contact
    except ImportError:  # contacts app not there yet
        return 0
    return Contact.objects.filter(portal=portal, donor_id_status="invalid").count()


def _contacts_invalid_url(portal):
    try:
        return reverse("contacts:list", args=[portal.slug]) + "?filter=invalid"
    except NoReverseMatch:  # contacts pages not mounted
        return ""
