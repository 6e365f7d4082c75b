"""Salesforce pages: settings (status, checklist, mappings), Connect/Reconnect/Disconnect,
the shared OAuth callback, "Check again", and the sync health placeholder.

Views stay thin: read the request, call one service, set a message, render or redirect.
Only portal admins change anything; every member may read the settings page.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from thankview.models import Membership
from thankview.tenancy import portal_view

from . import services, sync_selectors
from .forms import ConnectForm, MappingForm
from .models import FieldMapping
from .salesforce import oauth
from .salesforce.errors import OAuthFailed, SalesforceError, Unavailable
from .salesforce.mapping import mappings_for
from .salesforce.schema import GUIDE_FIELDS, OBJECT, PORTAL_FIELDS, SEND_ID_FIELD

LAST_PORTAL_KEY = "salesforce_connect_portal"


def _settings_redirect(portal):
    return redirect("integrations:salesforce_settings", portal_slug=portal.slug)


@portal_view
def salesforce_settings(request):
    portal = request.portal
    connection = sync_selectors.connection_for(portal)
    mappings = list(FieldMapping.objects.filter(portal=portal, enabled=True).order_by("id")) if connection else []
    if connection and connection.schema_cache and not mappings and not FieldMapping.objects.filter(portal=portal).exists():
        mappings = mappings_for(portal)
    checklist = services.connection_checklist(connection) if connection and connection.has_tokens else None
    return render(
        request,
        "integrations/salesforce_settings.html",
        {
            "connection": connection,
            "connected": bool(connection and connection.has_tokens),
            "checklist": checklist,
            "mappings": mappings,
            "required_unmapped": (connection.schema_cache.get("required_unmapped", []) if checklist and connection.schema_cache else []),
            "guide_fields": GUIDE_FIELDS,
            "portal_fields": PORTAL_FIELDS,
            "send_id_field": SEND_ID_FIELD,
            "object_name": OBJECT,
            "is_admin": request.membership.is_admin,
            "uses_simulator": settings.SALESFORCE_USES_SIMULATOR,
            # Filled by the sync engine (issue 5): a short text each.
            "last_sync": None,
            "next_sync": None,
            "connect_form": ConnectForm(initial={"environment": connection.environment} if connection else None),
        },
    )


@portal_view(admin_only=True)
@require_http_methods(["GET", "POST"])
def salesforce_connect(request):
    """GET: choose the environment. POST: remember state + PKCE verifier, go to Salesforce."""
    portal = request.portal
    form = ConnectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            url = services.oauth_state_create(
                session=request.session,
                portal=portal,
                user=request.user,
                environment=form.cleaned_data["environment"],
                mydomain_url=form.cleaned_data.get("mydomain_url", ""),
            )
        except oauth.InvalidLoginUrl as e:
            form.add_error("mydomain_url", str(e))
        else:
            request.session[LAST_PORTAL_KEY] = portal.slug
            return redirect(url)
    return render(request, "integrations/salesforce_connect.html", {"form": form, "connection": sync_selectors.connection_for(portal)}, status=400 if form.errors else 200)


def _callback_fallback(request, message):
    """Where a callback goes when its state is unusable: the portal the user started from."""
    messages.error(request, message)
    slug = request.session.get(LAST_PORTAL_KEY)
    if slug and Membership.objects.filter(user=request.user, portal__slug=slug).exists():
        return redirect("integrations:salesforce_settings", portal_slug=slug)
    return redirect("home")


@login_required
def salesforce_callback(request):
    """The one OAuth callback for every portal; the portal comes from the stored state only.

    1. Pop the state from the user's session (single use, 10 minutes, same user), else refuse.
    2. The user must still be an admin of that portal.
    3. ``error=access_denied`` (the user clicked Deny) is a cancel; other errors are reported.
    4. Exchange the code (PKCE verifier from the state), read the identity, store encrypted.
    Every failure ends on the settings page with a message and stores nothing.
    """
    try:
        entry = services.oauth_state_pop(session=request.session, state=request.GET.get("state", ""), user=request.user)
    except services.StateRejected as e:
        return _callback_fallback(request, f"{e} Nothing was changed; click Connect to Salesforce to try again.")
    membership = Membership.objects.select_related("portal").filter(user=request.user, portal_id=entry["portal_id"]).first()
    if membership is None:
        raise Http404
    portal = membership.portal
    if not membership.is_admin:
        messages.error(request, "Only portal admins can connect Salesforce.")
        return _settings_redirect(portal)

    error = request.GET.get("error")
    if error:
        if error in ("access_denied", "access-denied"):
            messages.warning(request, "You denied ThankView access to Salesforce, so nothing was connected.")
        else:
            desc = request.GET.get("error_description", "")[:200]
            messages.error(request, f"Salesforce did not authorize the connection ({error}{': ' + desc if desc else ''}).")
        return _settings_redirect(portal)
    code = request.GET.get("code", "")
    if not code:
        messages.error(request, "Salesforce returned no authorization code; nothing was connected.")
        return _settings_redirect(portal)

    try:
        connection = services.connection_connect(
            portal=portal,
            user=request.user,
            code=code,
            code_verifier=entry["code_verifier"],
            login_url=entry["login_url"],
            environment=entry["environment"],
        )
    except Unavailable as e:
        messages.error(request, f"ThankView could not reach Salesforce to finish connecting ({e.code}). Try again in a few minutes.")
        return _settings_redirect(portal)
    except OAuthFailed as e:
        hint = ""
        if e.code == "invalid_grant":
            hint = (" If you logged in to a different environment than the one you chose "
                    "(sandbox vs. production), connect again and choose the right one.")
        messages.error(request, f"Salesforce refused the connection: {e.message or e.code} ({e.code}).{hint}")
        return _settings_redirect(portal)
    except SalesforceError as e:
        messages.error(request, f"The connection could not be completed: {e.user_message} ({e.code}: {e.message})")
        return _settings_redirect(portal)

    if connection.previous_org_id and connection.org_changed_at and connection.org_changed_at >= connection.connected_at:
        messages.warning(
            request,
            f"This is a different Salesforce org ({connection.org_id}) from before ({connection.previous_org_id}). "
            "Records synced to the old org are not reused; engagement will be written afresh.",
        )
    services.connection_check(connection=connection)
    messages.success(request, f"Connected to Salesforce as {connection.username}.")
    return _settings_redirect(portal)


@portal_view(admin_only=True)
@require_http_methods(["GET", "POST"])
def salesforce_disconnect(request):
    portal = request.portal
    connection = sync_selectors.connection_for(portal)
    if connection is None or not connection.has_tokens:
        messages.info(request, "Salesforce is not connected.")
        return _settings_redirect(portal)
    if request.method == "POST":
        revoked, detail = services.connection_disconnect(connection=connection)
        if revoked:
            messages.success(request, "Disconnected from Salesforce. ThankView's access was revoked and its tokens deleted.")
        else:
            messages.warning(
                request,
                "Disconnected: ThankView deleted its tokens, but Salesforce could not confirm the revoke "
                f"({detail}). You can also remove ThankView under Setup → Connected Apps OAuth Usage.",
            )
        return _settings_redirect(portal)
    return render(request, "integrations/salesforce_disconnect.html", {"connection": connection})


@portal_view(admin_only=True)
@require_POST
def salesforce_check(request):
    """Re-run the setup checklist against Salesforce (not a sync: there is no sync-now)."""
    portal = request.portal
    connection = sync_selectors.connection_for(portal)
    if connection is None or not connection.has_tokens:
        messages.error(request, "Connect Salesforce first.")
        return _settings_redirect(portal)
    checklist = services.connection_check(connection=connection)
    if checklist is None:
        messages.error(request, "The check could not reach Salesforce; see the message above.")
    elif checklist.ok:
        messages.success(request, "Checked: Salesforce is set up correctly.")
    else:
        messages.warning(request, "Checked: some items need attention (see the checklist).")
    return _settings_redirect(portal)


def _connected_or_redirect(request):
    connection = sync_selectors.connection_for(request.portal)
    if connection is None or not connection.has_tokens:
        messages.error(request, "Connect Salesforce first: mappings are checked against your Salesforce fields.")
        return None
    return connection


def _mapping_form(request, *, mapping, initial):
    """The add and edit pages: check the form, save through ``mapping_save`` (which checks
    the field against a fresh describe), show its refusal on the field, else go back."""
    connection = _connected_or_redirect(request)
    if connection is None:
        return _settings_redirect(request.portal)
    form = MappingForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.mapping_save(connection=connection, mapping=mapping, **form.cleaned_data)
        except services.MappingRefused as e:
            form.add_error("target_field", str(e))
        else:
            messages.success(request, f"Mapping for {saved.target_field} saved.")
            return _settings_redirect(request.portal)
    return render(request, "integrations/mapping_form.html", {"form": form, "mapping": mapping}, status=400 if form.errors else 200)


@portal_view(admin_only=True)
@require_http_methods(["GET", "POST"])
def mapping_add(request):
    return _mapping_form(request, mapping=None, initial={"target_field": request.GET.get("field", "")[:80]})


@portal_view(admin_only=True)
@require_http_methods(["GET", "POST"])
def mapping_edit(request, pk):
    mapping = get_object_or_404(FieldMapping, pk=pk, portal=request.portal, enabled=True)
    initial = {"target_field": mapping.target_field, "source": mapping.source, "constant_value": mapping.constant_value}
    return _mapping_form(request, mapping=mapping, initial=initial)


@portal_view(admin_only=True)
@require_http_methods(["GET", "POST"])
def mapping_remove(request, pk):
    mapping = get_object_or_404(FieldMapping, pk=pk, portal=request.portal, enabled=True)
    if request.method == "POST":
        connection = sync_selectors.connection_for(request.portal) or services.connection_get_or_create(request.portal)
        services.mapping_remove(connection=connection, mapping=mapping)
        messages.success(request, f"ThankView no longer sends {mapping.target_field}.")
        return _settings_redirect(request.portal)
    return render(request, "integrations/mapping_remove.html", {"mapping": mapping})


# The sync health page (integrations:sync_health) is integrations/sync_views.py (issue 5).
