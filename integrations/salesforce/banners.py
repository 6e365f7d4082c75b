"""The guide's error banners: which ones show, storing the problem behind them, the admin email.

A problem is stored on the connection in plain columns (kind, code, message, detail, since)
with one targeted ``update()``, so a sync run, a "Check again" and a page view never
overwrite each other's fields. The texts of each banner live beside the exception classes
(``errors.BANNERS``); the page renders them with ``templates/integrations/_banners.html``.

- ``connection_record_error``: store a problem; the first writer of a new kind emails the
  portal's admins (once per problem, not once per run).
- ``connection_record_success``: clear it after a successful check or run.
- ``banners``: the context processor (``TEMPLATES`` in settings) that shows them.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import mail_admins, send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact
from thankview.models import Membership

from ..models import SalesforceConnection
from . import errors
from .errors import SalesforceError, SessionExpired

log = logging.getLogger(__name__)

# The columns the banners need; a page view loads nothing else of the connection.
BANNER_FIELDS = (
    "id", "status", "environment", "login_url", "error_kind", "error_code", "error_message", "error_detail",
    "error_since", "access_token_enc", "refresh_token_enc",
)
CLEARED = {
    "error_kind": "", "error_code": "", "error_message": "", "error_detail": {}, "error_since": None,
    "error_notified_at": None,
}


# --- storing the problem -----------------------------------------------------------------


def connection_record_error(*, connection: SalesforceConnection, error: SalesforceError) -> bool:
    """Store ``error`` as the connection's current problem; email admins when a new kind starts.

    Returns True when this error started a new banner (and the admins were emailed). An
    error without a banner kind (rate limit, not found) is stored as the last error only.
    """
    kind = error.kind if error.kind in errors.STORED_KINDS else ""
    now = timezone.now()
    fields = {
        "error_code": (error.code or "")[:80],
        "error_message": error.message or "",
        "error_detail": error.detail(),
        "updated_at": now,
    }
    if isinstance(error, SessionExpired):
        fields["status"] = SalesforceConnection.Status.EXPIRED
    qs = SalesforceConnection.objects.filter(pk=connection.pk)
    started = 0
    if kind:
        # Conditional update: only the writer that changes the kind starts the banner, so
        # admins get one email per new problem, not one per run or per worker.
        started = qs.exclude(error_kind=kind).update(error_kind=kind, error_since=now, error_notified_at=now, **fields)
    if not started:
        qs.update(**({"error_kind": kind} if not kind else {}), **fields)
    connection.refresh_from_db()
    if kind == errors.SERVICE:
        # ThankView's own problem: operators are told, the portal's admins are not asked to act.
        log.error("Salesforce refused ThankView's connected-app credentials for portal %s: %s %s",
                  connection.portal_id, error.code, error.message)
        if started:
            transaction.on_commit(lambda: operators_email(connection=connection, error=error))
    elif started:
        transaction.on_commit(lambda: admins_email(connection=connection, kind=kind, error=error))
    return bool(started)


def operators_alert(*, portal, error: SalesforceError) -> None:
    """A refused consumer key or secret during Connect: log it and tell the operators."""
    log.error("Salesforce refused ThankView's connected-app credentials for portal %s: %s %s",
              portal.pk, error.code, error.message)
    transaction.on_commit(lambda: _operators_mail(portal=portal, error=error))


def operators_email(*, connection: SalesforceConnection, error: SalesforceError) -> None:
    _operators_mail(portal=connection.portal, error=error)


def _operators_mail(*, portal, error: SalesforceError) -> None:
    """Tell ThankView's operators (``ADMINS``) that Salesforce refuses our consumer key or secret."""
    mail_admins(
        f"Salesforce refuses ThankView's connected-app credentials ({error.code})",
        f"The token endpoint answered {error.code} \"{error.message}\" for portal {portal.slug}."
        "\n\nCheck SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET against "
        "the connected app. Customers see a neutral notice and keep their connection; the next run after the "
        "fix syncs without a Reconnect.",
        fail_silently=True,
    )


def connection_record_success(*, connection: SalesforceConnection) -> None:
    """Clear the stored banner after a successful check or run."""
    now = timezone.now()
    updates = {**CLEARED, "last_success_at": now, "updated_at": now}
    if connection.has_tokens:
        updates["status"] = SalesforceConnection.Status.CONNECTED
    SalesforceConnection.objects.filter(pk=connection.pk).update(**updates)
    connection.refresh_from_db()


def admins_email(*, connection: SalesforceConnection, kind: str, error: SalesforceError) -> None:
    """One email to the portal's admins about a new problem: the banner's steps and a link."""
    banner = errors.BANNERS[kind]
    portal = connection.portal
    recipients = list(
        Membership.objects.filter(portal=portal, role=Membership.Role.ADMIN)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    if not recipients:
        return
    url = settings.SITE_URL + reverse("integrations:salesforce_settings", args=[portal.slug])
    steps = "\n".join(f"{i}. {s}" for i, s in enumerate(banner["steps"], 1))
    body = (
        f"{banner['problem']}\n\nHow to fix:\n{steps}\n\n"
        f"Salesforce said: {error.code} {error.message}\n\nSalesforce Settings: {url}\n\n"
        "You will not get another email about this problem until it is fixed."
    )
    send_mail(f"[{portal.name}] Salesforce: {banner['title']}", body, None, recipients, fail_silently=True)


# --- showing it --------------------------------------------------------------------------


# The pages that show each problem as a full card with the guide's fix (and Reconnect);
# every other portal page shows one compact line per problem, linking to them.
FULL_CARD_PAGES = frozenset({"integrations:hub", "integrations:salesforce_settings", "integrations:sync_health"})


def banners(request) -> dict:
    """Context processor: the banners of the current portal page.

    Shown to portal admins on every portal page, and to every member on the pages with the
    full cards (Integrations & APIs, Salesforce Settings, Sync health). The Invalid
    Salesforce ID notice belongs to the contacts: it shows on the Contacts pages and those
    integration pages, not on campaign or mapping forms. Cost: one query for the connection
    and, only when connected and the notice belongs on the page, one indexed count of
    contacts with an invalid Donor ID (index on (portal, donor_id_status)).
    """
    portal = getattr(request, "portal", None)
    membership = getattr(request, "membership", None)
    if portal is None or membership is None:
        return {}
    view_name = _view_name(request)
    full = view_name in FULL_CARD_PAGES
    if not (membership.is_admin or full):
        return {}
    conn = SalesforceConnection.objects.filter(portal=portal).only(*BANNER_FIELDS).first()
    if conn is None or not conn.has_tokens:
        return {}
    show_invalid = full or view_name.startswith("contacts:")
    shown = [b for b in (_stored_banner(conn), _invalid_id_banner(portal) if show_invalid else None) if b]
    return {
        "salesforce_banners": shown,
        "salesforce_banner_style": "full" if full else "compact",
        "salesforce_banner_page": view_name,
        "salesforce_banner_connection": conn,
        "salesforce_banner_is_admin": membership.is_admin,
    }


def _view_name(request) -> str:
    match = getattr(request, "resolver_match", None)
    return match.view_name if match else ""


def _stored_banner(conn: SalesforceConnection) -> dict | None:
    """The banner of the problem stored on the connection (session, permissions, mapping, connection)."""
    if conn.error_kind not in errors.STORED_KINDS:
        return None
    return {
        "kind": conn.error_kind,
        "text": errors.BANNERS[conn.error_kind],
        "code": conn.error_code,
        "message": conn.error_message,
        "fields": (conn.error_detail or {}).get("fields") or [],
        "since": conn.error_since,
    }


def _invalid_id_banner(portal) -> dict | None:
    """The "Invalid Salesforce ID" banner, computed from the contacts (never stored)."""
    invalid = Contact.objects.filter(portal=portal, donor_id_status="invalid").count()
    if not invalid:
        return None
    return {
        "kind": errors.INVALID_ID,
        "text": errors.BANNERS[errors.INVALID_ID],
        "count": invalid,
        "contacts_url": reverse("contacts:list", args=[portal.slug]) + "?filter=invalid",
    }


def connection_banners(conn: SalesforceConnection) -> list[dict]:
    """Every banner the portal's admins see now, as above (for support's overview in admin)."""
    return [b for b in (_stored_banner(conn), _invalid_id_banner(conn.portal)) if b]
