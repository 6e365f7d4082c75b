"""The settings page, Connect / Reconnect, the shared OAuth callback, Disconnect, "Check again"."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from thankview.models import Membership
from thankview.tenancy import portal_view

from .. import connection as connection_services
from .. import oauth, selectors
from ..errors import (
    BANNERS,
    CONNECTION,
    SERVICE,
    AppCredentialsRefused,
    OAuthFailed,
    SalesforceError,
    Unavailable,
)
from ..forms import ConnectForm
from ..mapping import mappings_shown
from ..schema import GUIDE_FIELDS, OBJECT, PORTAL_FIELDS, SEND_ID_FIELD
from ..status import sync_status

LAST_PORTAL_KEY = "salesforce_connect_portal"


def settings_redirect(portal):
    return redirect("integrations:salesforce_settings", portal_slug=portal.slug)


@portal_view
def salesforce_settings(request):
    portal = request.portal
    connection = selectors.connection_for(portal)
    connected = bool(connection and connection.has_tokens)
    checklist = connection_services.connection_checklist(connection) if connected else None
    required_unmapped = connection.schema_cache.get("required_unmapped", []) if checklist and connection.schema_cache else []
    return render(
        request,
        "integrations/salesforce_settings.html",
        {
            "connection": connection,
            "connected": connected,
            "sync": sync_status(portal=portal, connection=connection),
            "portals_sharing_user": selectors.portals_sharing_user(connection) if connected else 0,
            "checklist": checklist,
            "mappings": mappings_shown(portal, connection),
            "required_unmapped": required_unmapped,
            "guide_fields": GUIDE_FIELDS,
            "portal_fields": PORTAL_FIELDS,
            "send_id_field": SEND_ID_FIELD,
            "object_name": OBJECT,
            "is_admin": request.membership.is_admin,
            "uses_simulator": settings.SALESFORCE_USES_SIMULATOR,
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
            url = connection_services.oauth_state_create(
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
    context = {"form": form, "connection": selectors.connection_for(portal)}
    return render(request, "integrations/salesforce_connect.html", context, status=400 if form.errors else 200)


def _callback_fallback(request, reason):
    """Where a callback goes when its state is unusable: the portal the user started from.

    The usual way here is the browser's Back button after Allow: the consent page sends the
    used state again. When that portal is connected, say so rather than report a failure.
    """
    slug = request.session.get(LAST_PORTAL_KEY)
    membership = Membership.objects.select_related("portal").filter(user=request.user, portal__slug=slug).first() if slug else None
    if membership is None:
        messages.error(request, f"{reason} Nothing was changed.")
        return redirect("home")
    connection = selectors.connection_for(membership.portal)
    if connection and connection.has_tokens and connection.status == connection.Status.CONNECTED:
        messages.info(
            request,
            f"{membership.portal.name} is already connected to Salesforce as {connection.username}. "
            f"{reason} Nothing was changed.",
        )
    else:
        messages.error(request, f"{reason} Nothing was changed; click Connect to Salesforce to try again.")
    return settings_redirect(membership.portal)


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
        entry = connection_services.oauth_state_pop(
            session=request.session, state=request.GET.get("state", ""), user=request.user
        )
    except connection_services.StateRejected as e:
        return _callback_fallback(request, str(e))
    membership = Membership.objects.select_related("portal").filter(user=request.user, portal_id=entry["portal_id"]).first()
    if membership is None:
        raise Http404
    portal = membership.portal
    refusal = _callback_refusal(request, is_admin=membership.is_admin)
    if refusal:
        level, text = refusal
        messages.add_message(request, level, text)
        return settings_redirect(portal)
    try:
        connection = connection_services.connection_connect(
            portal=portal,
            user=request.user,
            code=request.GET["code"],
            code_verifier=entry["code_verifier"],
            login_url=entry["login_url"],
            environment=entry["environment"],
        )
    except SalesforceError as e:
        messages.error(request, _connect_failure_text(e))
        return settings_redirect(portal)
    if connection.previous_org_id and connection.org_changed_at and connection.org_changed_at >= connection.connected_at:
        messages.warning(
            request,
            f"This is a different Salesforce org ({connection.org_id}) from before ({connection.previous_org_id}). "
            "Records synced to the old org are not reused; engagement will be written afresh.",
        )
    connection_services.connection_check(connection=connection)
    messages.success(request, f"Connected to Salesforce as {connection.username}.")
    return settings_redirect(portal)


def _callback_refusal(request, *, is_admin) -> tuple[int, str] | None:
    """Why this callback must stop before the code exchange, as (message level, text)."""
    if not is_admin:
        return messages.ERROR, "Only portal admins can connect Salesforce."
    error = request.GET.get("error")
    if error in ("access_denied", "access-denied"):
        return messages.WARNING, "You denied ThankView access to Salesforce, so nothing was connected."
    if error:
        desc = request.GET.get("error_description", "")[:200]
        return messages.ERROR, f"Salesforce did not authorize the connection ({error}{': ' + desc if desc else ''})."
    if not request.GET.get("code", ""):
        return messages.ERROR, "Salesforce returned no authorization code; nothing was connected."
    return None


def _connect_failure_text(e: SalesforceError) -> str:
    if isinstance(e, AppCredentialsRefused):
        return f"{e.user_message} Nothing was changed; try again later."
    if isinstance(e, Unavailable):
        return f"ThankView could not reach Salesforce to finish connecting ({e.code}). Try again in a few minutes."
    if isinstance(e, OAuthFailed):
        hint = ""
        if e.code == "invalid_grant":
            hint = (" If you logged in to a different environment than the one you chose "
                    "(sandbox vs. production), connect again and choose the right one.")
        return f"Salesforce refused the connection: {e.message or e.code} ({e.code}).{hint}"
    return f"The connection could not be completed: {e.user_message} ({e.code}: {e.message})"


@portal_view(admin_only=True)
@require_http_methods(["GET", "POST"])
def salesforce_disconnect(request):
    portal = request.portal
    connection = selectors.connection_for(portal)
    if connection is None or not connection.has_tokens:
        messages.info(request, "Salesforce is not connected.")
        return settings_redirect(portal)
    if request.method != "POST":
        return render(request, "integrations/salesforce_disconnect.html", {"connection": connection})
    revoked, detail = connection_services.connection_disconnect(connection=connection)
    if revoked:
        messages.success(request, "Disconnected from Salesforce. ThankView's access was revoked and its tokens deleted.")
    else:
        messages.warning(
            request,
            "Disconnected: ThankView deleted its tokens, but Salesforce could not confirm the revoke "
            f"({detail}). You can also remove ThankView under Setup → Connected Apps OAuth Usage.",
        )
    return settings_redirect(portal)


@portal_view(admin_only=True)
@require_POST
def salesforce_check(request):
    """Re-run the setup checklist against Salesforce (not a sync: there is no sync-now)."""
    portal = request.portal
    connection = selectors.connection_for(portal)
    if connection is None or not connection.has_tokens:
        messages.error(request, "Connect Salesforce first.")
        return settings_redirect(portal)
    checklist = connection_services.connection_check(connection=connection)
    if checklist is None:
        messages.error(request, _check_failure_text(connection))
    elif checklist.ok:
        messages.success(request, "Checked: Salesforce is set up correctly.")
    else:
        messages.warning(request, "Checked: some items need attention (see the checklist).")
    return settings_redirect(portal)


def _check_failure_text(connection) -> str:
    """What "Check again" found when Salesforce did not answer the describe: the stored
    problem, in the words of its card (an expired session is not "could not reach")."""
    banner = BANNERS.get(connection.error_kind)
    if connection.error_kind == CONNECTION:
        return "Checked: ThankView could not reach Salesforce. Try again in 15–30 minutes; the card below says what else to do."
    if connection.error_kind == SERVICE:
        return f"Checked: {banner['title']}. {banner['short']}"
    if banner is not None:
        return f"Checked: {banner['title']}. {banner['short']} The card below says how to fix it."
    return f"Checked: Salesforce refused the request ({connection.error_code}: {connection.error_message})."
