"""Support's actions on Salesforce connections, each behind a confirmation page.

An action first answers with a page naming the portals and saying what will happen (for the
cap and the contact object: the new values first, then old → new); only that page's
"Yes, …" button calls the service (``salesforce.support``), which writes the portal's sync
history line and the admin's ``LogEntry``. The connection's own page offers the same actions
as buttons that post here.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages

from ..models import SalesforceConnection
from ..salesforce import budget, support
from .confirm import Target, confirm_page, confirmed


def _connections(queryset) -> list[SalesforceConnection]:
    return list(queryset.select_related("portal", "sync_changed_by").order_by("portal__slug"))


def _name(conn) -> str:
    return f"{conn.portal.name} ({conn.portal.slug})"


def _done(modeladmin, request, done: list, verb: str, unchanged: str) -> None:
    if done:
        modeladmin.message_user(request, f"{verb} for {', '.join(c.portal.slug for c in done)}.", messages.SUCCESS)
    else:
        modeladmin.message_user(request, unchanged, messages.WARNING)


# --- enable, pause ------------------------------------------------------------------------


def _enable_detail(c: SalesforceConnection) -> str:
    if c.sync_enabled:
        return "already on: nothing changes."
    first = "" if c.sync_enabled_at else " This is the first enable: sends from now on are synced; earlier campaigns only when you re-sync them."
    paused = f" Paused since {c.sync_paused_at:%Y-%m-%d %H:%M} UTC: what happened meanwhile is synced in the next run." if c.sync_paused_at else ""
    connected = "" if c.has_tokens else " Not connected: the sync starts once a portal admin connects."
    return ("sync turns on." + first + paused + connected).strip()


@admin.action(description="Enable sync…", permissions=["change"])
def enable_sync(modeladmin, request, queryset):
    conns = _connections(queryset)
    if not confirmed(request):
        return confirm_page(
            modeladmin, request, objects=conns, action="enable_sync", title="Enable sync to Salesforce?",
            what=f"The sync of these portals runs every {settings.SALESFORCE_SYNC_INTERVAL_SECONDS // 3600} hours once on. "
            "Their Sync health page will say that ThankView support enabled it.",
            targets=[Target(_name(c), _enable_detail(c)) for c in conns], confirm_label="Yes, enable sync",
        )
    done = [c for c in conns if support.sync_enable(connection=c, by=request.user)]
    _done(modeladmin, request, done, "Sync enabled", "Sync was already on; nothing changed.")
    return None


@admin.action(description="Pause sync…", permissions=["change"])
def pause_sync(modeladmin, request, queryset):
    conns = _connections(queryset)
    if not confirmed(request):
        return confirm_page(
            modeladmin, request, objects=conns, action="pause_sync", title="Pause sync to Salesforce?",
            what="No run writes to Salesforce while paused. Nothing is lost: engagement of the meantime is synced "
            "when sync is enabled again. The portals' pages will say that ThankView support paused it.",
            targets=[Target(_name(c), "sync pauses." if c.sync_enabled else "not on: nothing changes.") for c in conns],
            confirm_label="Yes, pause sync",
        )
    done = [c for c in conns if support.sync_pause(connection=c, by=request.user)]
    _done(modeladmin, request, done, "Sync paused", "Sync was not on; nothing changed.")
    return None


# --- API cap --------------------------------------------------------------------------------


class ApiCapForm(forms.Form):
    api_cap_percent = forms.IntegerField(
        label="API cap (% of the org's daily requests)", min_value=1, max_value=100,
        help_text="The portal's sync stops for the day once its calls of the last 24 hours reach this share.",
    )


def _cap_text(percent: int, cap: budget.PortalCap) -> str:
    if cap.daily_max is None:
        return f"{percent}% (the org's daily maximum is not known yet)"
    return f"{percent}% = {cap.daily_max * percent // 100:,} calls per day"


@admin.action(description="Change API cap…", permissions=["change"])
def set_api_cap(modeladmin, request, queryset):
    conns = _connections(queryset)
    caps = {c.pk: budget.portal_cap(c) for c in conns}
    form = ApiCapForm(request.POST if "step" in request.POST else None,
                      initial={"api_cap_percent": conns[0].api_cap_percent if len(conns) == 1 else 50})
    if not form.is_valid():
        return confirm_page(
            modeladmin, request, objects=conns, action="set_api_cap", title="Change the API cap", form=form, step="edit",
            what="The share of the org's daily API requests each portal's sync may use in 24 hours.",
            targets=[Target(_name(c), f"now {_cap_text(c.api_cap_percent, caps[c.pk])}; "
                            f"{caps[c.pk].used_24h:,} calls used in the last 24 hours") for c in conns],
            confirm_label="",
        )
    new = form.cleaned_data["api_cap_percent"]
    if not confirmed(request):
        return confirm_page(
            modeladmin, request, objects=conns, action="set_api_cap", title="Change the API cap?", form=form,
            what=f"The API cap becomes {new}% of the org's daily requests. A run that reaches it stops and resumes "
            "in a later cycle; nothing is lost.",
            targets=[Target(_name(c), f"{_cap_text(c.api_cap_percent, caps[c.pk])} → {_cap_text(new, caps[c.pk])}; "
                            f"{caps[c.pk].used_24h:,} calls used in the last 24 hours") for c in conns],
            confirm_label=f"Yes, set the cap to {new}%",
        )
    done = [c for c in conns if support.api_cap_set(connection=c, percent=new, by=request.user)]
    _done(modeladmin, request, done, f"API cap set to {new}%", "The cap was already that; nothing changed.")
    return None


# --- contact object -------------------------------------------------------------------------


class ContactObjectForm(forms.Form):
    contact_lookup_field = forms.RegexField(
        label="ThankView__c lookup field", regex=support.API_NAME, max_length=80,
        error_messages={"invalid": "Enter the field's API name, e.g. Donor__c."},
    )
    contact_object = forms.RegexField(
        label="Object it points to", regex=support.API_NAME, max_length=80,
        error_messages={"invalid": "Enter the object's API name, e.g. Donor__c or Contact."},
    )
    contact_email_field = forms.RegexField(
        label="That object's email field", regex=support.API_NAME, max_length=80,
        error_messages={"invalid": "Enter the field's API name, e.g. Email or Email__c."},
    )


def _object_label(c) -> str:
    return support.contact_object_label(contact_lookup_field=c.contact_lookup_field, contact_object=c.contact_object,
                                        contact_email_field=c.contact_email_field)


@admin.action(description="Change contact object…", permissions=["change"])
def set_contact_object(modeladmin, request, queryset):
    conns = _connections(queryset)
    first = conns[0]
    form = ContactObjectForm(request.POST if "step" in request.POST else None, initial={
        "contact_lookup_field": first.contact_lookup_field, "contact_object": first.contact_object,
        "contact_email_field": first.contact_email_field,
    })
    if not form.is_valid():
        return confirm_page(
            modeladmin, request, objects=conns, action="set_contact_object", title="Change the contact object",
            form=form, step="edit",
            what="Which Salesforce object ThankView__c links to, and how the sync finds it by email "
            "(default Contact__c → Contact.Email).",
            targets=[Target(_name(c), f"now {_object_label(c)}") for c in conns], confirm_label="",
        )
    new = support.contact_object_label(**form.cleaned_data)
    if not confirmed(request):
        return confirm_page(
            modeladmin, request, objects=conns, action="set_contact_object", title="Change the contact object?",
            form=form,
            what=f"New sends are matched on {form.cleaned_data['contact_object']} and linked through "
            f"{form.cleaned_data['contact_lookup_field']}; records already in Salesforce keep their link.",
            targets=[Target(_name(c), f"{_object_label(c)} → {new}") for c in conns],
            notes=["The next run's setup check stops the sync with a mapping banner if the field or object does not exist."],
            confirm_label="Yes, change the contact object",
        )
    done = [c for c in conns if support.contact_object_set(connection=c, **form.cleaned_data, by=request.user)]
    _done(modeladmin, request, done, f"Contact object set to {new}", "The contact object was already that; nothing changed.")
    return None


# --- disconnect -----------------------------------------------------------------------------


@admin.action(description="Disconnect from Salesforce…", permissions=["change"])
def disconnect(modeladmin, request, queryset):
    conns = _connections(queryset)
    if not confirmed(request):
        return confirm_page(
            modeladmin, request, objects=conns, action="disconnect", title="Disconnect from Salesforce?",
            what="ThankView's token is revoked at Salesforce and forgotten here; the sync stops until a portal admin "
            "connects again. Records already in Salesforce stay there.",
            targets=[Target(_name(c), f"org {c.org_id} as {c.username}" if c.has_tokens else "not connected: nothing changes.")
                     for c in conns],
            confirm_label="Yes, disconnect",
        )
    done = []
    for c in conns:
        if not c.has_tokens:
            continue
        revoked, detail = support.support_disconnect(connection=c, by=request.user)
        done.append(c)
        if not revoked:
            modeladmin.message_user(request, f"{c.portal.slug}: Salesforce did not confirm the revoke ({detail}); "
                                    "the token is forgotten here anyway.", messages.WARNING)
    _done(modeladmin, request, done, "Disconnected", "None of these was connected; nothing changed.")
    return None


SUPPORT_ACTIONS = [enable_sync, pause_sync, set_api_cap, set_contact_object, disconnect]
