"""Support's console in Django admin, driven as a staff user with the test client: every
action first shows a confirmation page and changes nothing; confirmed, it writes a
``LogEntry`` per object with a readable message and a line in the portal's sync history,
which the portal's Sync health page shows. A non-staff portal admin gets none of it."""

from html import unescape

import pytest
import requests
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils.html import strip_tags

from engagement.models import Campaign
from integrations.models import ResyncRequest, SalesforceConnection, SalesforceRecord, SupportEvent
from tests.factories import UserFactory
from thankview.dates import local_text

pytestmark = pytest.mark.django_db

SUPPORT_EMAIL = "support@thankview.example"
CHANGELIST = "admin:integrations_salesforceconnection_changelist"


@pytest.fixture
def support_client(client):
    client.force_login(UserFactory(email=SUPPORT_EMAIL, is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def conn(connected_portal_a, sim):
    sim.limits(used=0, max=15_000)
    return SalesforceConnection.objects.get(portal=connected_portal_a)


def _act(client, action, pks, **data):
    return client.post(reverse(CHANGELIST), {"action": action, "_selected_action": pks, **data})


def _log_messages(obj):
    ct = ContentType.objects.get_for_model(obj)
    return list(LogEntry.objects.filter(content_type=ct, object_id=str(obj.pk), action_flag=CHANGE)
                .order_by("pk").values_list("change_message", flat=True))


def _history(portal):
    return list(SupportEvent.objects.filter(portal=portal).order_by("at", "id").values_list("kind", "summary"))


def _health(client_admin_a, portal):
    """The Sync health page's text (dates are <time> elements)."""
    page = client_admin_a.get(reverse("integrations:sync_health", args=[portal.slug])).content.decode()
    return unescape(strip_tags(page))


def test_enable_asks_first_then_logs_both_histories(support_client, conn, client_admin_a):
    page = _act(support_client, "enable_sync", [conn.pk])
    assert page.status_code == 200
    body = page.content.decode()
    assert "Enable sync to Salesforce?" in body
    assert "<strong>Alpha University (alpha)</strong>: sync turns on. This is the first enable" in body
    assert 'name="confirm" value="yes"' in body and "Yes, enable sync" in body
    conn.refresh_from_db()
    assert conn.sync_enabled is False and _log_messages(conn) == [] and _history(conn.portal) == []

    resp = _act(support_client, "enable_sync", [conn.pk], confirm="yes")
    assert resp.status_code == 302
    conn.refresh_from_db()
    assert conn.sync_enabled and conn.sync_changed_by.email == SUPPORT_EMAIL
    assert _log_messages(conn) == [f"Sync enabled by {SUPPORT_EMAIL}"]
    assert _history(conn.portal) == [("enabled", "Sync enabled by ThankView support")]
    at = SupportEvent.objects.get(portal=conn.portal).at
    health = _health(client_admin_a, conn.portal)
    assert f"Sync enabled by ThankView support on {local_text(at)}" in health
    assert SUPPORT_EMAIL not in health  # the portal sees "ThankView support", not who


def test_pause_asks_first_then_logs_per_portal(support_client, conn, portal_b, client_admin_a):
    from integrations.salesforce import support

    support.sync_enable(connection=conn)
    other = SalesforceConnection.objects.create(portal=portal_b, status="connected", org_id="00D000000000002AAA",
                                                sync_enabled=True)
    body = _act(support_client, "pause_sync", [conn.pk, other.pk]).content.decode()
    assert "Pause sync to Salesforce?" in body and "Nothing is lost" in body
    assert "<strong>Alpha University (alpha)</strong>: sync pauses." in body
    assert "<strong>Beta Hospital (beta)</strong>: sync pauses." in body
    assert SalesforceConnection.objects.filter(sync_enabled=True).count() == 2

    assert _act(support_client, "pause_sync", [conn.pk, other.pk], confirm="yes").status_code == 302
    for c in (conn, other):
        c.refresh_from_db()
        assert c.sync_enabled is False and c.sync_paused_at is not None
        assert _log_messages(c) == [f"Sync paused by {SUPPORT_EMAIL}"]
    assert _history(portal_b) == [("paused", "Sync paused by ThankView support")]
    assert f"Sync paused by ThankView support on {local_text(conn.sync_paused_at)}" in _health(
        client_admin_a, conn.portal)


def test_api_cap_asks_for_the_value_then_confirms_in_calls(support_client, conn, client_admin_a):
    SalesforceConnection.objects.filter(pk=conn.pk).update(api_limits={"DailyApiRequests": {"Max": 15000, "Remaining": 14000}})
    edit = _act(support_client, "set_api_cap", [conn.pk]).content.decode()
    assert 'name="api_cap_percent"' in edit and 'value="50"' in edit
    assert "now 50% = 7,500 calls per day; 0 calls used in the last 24 hours" in edit

    bad = _act(support_client, "set_api_cap", [conn.pk], step="review", api_cap_percent="0")
    assert bad.status_code == 200 and "Ensure this value is greater than or equal to 1." in bad.content.decode()

    review = _act(support_client, "set_api_cap", [conn.pk], step="review", api_cap_percent="20").content.decode()
    assert "Change the API cap?" in review
    assert "50% = 7,500 calls per day → 20% = 3,000 calls per day" in review
    assert 'type="hidden" name="api_cap_percent" value="20"' in review and 'name="confirm" value="yes"' in review
    conn.refresh_from_db()
    assert conn.api_cap_percent == 50 and _log_messages(conn) == [] and _history(conn.portal) == []

    resp = _act(support_client, "set_api_cap", [conn.pk], step="review", api_cap_percent="20", confirm="yes")
    assert resp.status_code == 302
    conn.refresh_from_db()
    assert conn.api_cap_percent == 20
    assert _log_messages(conn) == [f"API cap changed from 50% to 20% of the org's daily requests by {SUPPORT_EMAIL}"]
    assert _history(conn.portal) == [("api_cap", "API cap set to 20% of the org's daily requests by ThankView support")]
    assert "API cap set to 20% of the org's daily requests by ThankView support on" in _health(client_admin_a, conn.portal)


def test_contact_object_asks_then_confirms_and_refuses_bad_names(support_client, conn, client_admin_a):
    values = {"contact_lookup_field": "Donor__c", "contact_object": "Donor__c", "contact_email_field": "Email__c"}
    edit = _act(support_client, "set_contact_object", [conn.pk]).content.decode()
    assert "now Contact__c → Contact.Email" in edit and 'value="Contact__c"' in edit

    bad = _act(support_client, "set_contact_object", [conn.pk], step="review", **{**values, "contact_object": "Donor c"})
    assert "Enter the object&#x27;s API name, e.g. Donor__c or Contact." in bad.content.decode()

    review = _act(support_client, "set_contact_object", [conn.pk], step="review", **values).content.decode()
    assert "Contact__c → Contact.Email → Donor__c → Donor__c.Email__c" in review
    conn.refresh_from_db()
    assert conn.contact_object == "Contact" and _log_messages(conn) == [] and _history(conn.portal) == []

    assert _act(support_client, "set_contact_object", [conn.pk], step="review", confirm="yes", **values).status_code == 302
    conn.refresh_from_db()
    assert (conn.contact_lookup_field, conn.contact_object, conn.contact_email_field) == ("Donor__c", "Donor__c", "Email__c")
    assert _log_messages(conn) == [
        f"Contact object changed from Contact__c → Contact.Email to Donor__c → Donor__c.Email__c by {SUPPORT_EMAIL}"
    ]
    assert _history(conn.portal) == [("contact_object", "Contact object set to Donor__c by ThankView support")]
    assert "Contact object set to Donor__c by ThankView support on" in _health(client_admin_a, conn.portal)


def test_disconnect_asks_then_revokes_and_logs(support_client, conn, sfsim, client_admin_a):
    refresh = conn.refresh_token
    body = _act(support_client, "disconnect", [conn.pk]).content.decode()
    assert "Disconnect from Salesforce?" in body and f"org {conn.org_id} as {conn.username}" in body
    conn.refresh_from_db()
    assert conn.has_tokens and _history(conn.portal) == []

    assert _act(support_client, "disconnect", [conn.pk], confirm="yes").status_code == 302
    conn.refresh_from_db()
    assert conn.status == "disconnected" and not conn.has_tokens
    r = requests.post(
        f"{sfsim.url}/services/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh, "client_id": "sfsim-client-id",
              "client_secret": "sfsim-client-secret"},
        verify=sfsim.ca_path, timeout=10,
    )
    assert r.status_code == 400  # revoked at Salesforce
    assert _log_messages(conn) == [f"Disconnected from Salesforce (token revoked at Salesforce) by {SUPPORT_EMAIL}"]
    assert _history(conn.portal) == [("disconnected", "Disconnected from Salesforce by ThankView support")]
    assert "Disconnected from Salesforce by ThankView support on" in _health(client_admin_a, conn.portal)


def test_resync_asks_with_estimate_then_logs_per_campaign(support_client, conn, client_admin_a):
    from contacts.models import Contact, donor_id_fields
    from engagement.models import Send

    gala = Campaign.objects.create(portal=conn.portal, name="Spring Gala", video_url="https://v.example.org/g.mp4")
    for i, donor_id in enumerate(["003000000000001AAA", "", ""]):
        c = Contact.objects.create(portal=conn.portal, email=f"p{i}@x.org", email_normalized=f"p{i}@x.org",
                                   **donor_id_fields(donor_id))
        Send.objects.create(campaign=gala, contact=c)
    url = reverse("admin:engagement_campaign_changelist")
    page = support_client.post(url, {"action": "resync_campaigns", "_selected_action": [gala.pk]}).content.decode()
    assert "Re-sync campaigns to Salesforce?" in page and "“Spring Gala”" in page
    # 3 sends to match: the describe; the Donor ID and the two emails, then (as if nobody was
    # found) the Donor ID holder's email on Contacts and all three on Leads; one create.
    assert "<strong>6</strong> via sObject Collections" in page
    assert "1 to start: the describe of ThankView__c; 4 matching queries" in page
    assert not ResyncRequest.objects.exists() and _log_messages(gala) == [] and _history(conn.portal) == []
    assert not SalesforceRecord.objects.filter(resync_requested_at__isnull=False).exists()

    resp = support_client.post(url, {"action": "resync_campaigns", "_selected_action": [gala.pk], "confirm": "yes"})
    assert resp.status_code == 302
    assert ResyncRequest.objects.get().requested_by.email == SUPPORT_EMAIL
    assert _log_messages(gala) == [f"Re-sync to Salesforce of 3 sends requested by {SUPPORT_EMAIL}"]
    assert _history(conn.portal) == [("resync", "Re-sync of Spring Gala requested")]
    at = SupportEvent.objects.get(portal=conn.portal).at
    assert f"Re-sync of Spring Gala requested on {local_text(at)}" in _health(client_admin_a, conn.portal)


def test_the_change_page_buttons_lead_to_the_confirmation_pages(support_client, conn):
    page = support_client.get(reverse("admin:integrations_salesforceconnection_change", args=[conn.pk])).content.decode()
    for action in ("enable_sync", "pause_sync", "set_api_cap", "set_contact_object", "disconnect"):
        assert f'name="action" value="{action}"' in page
    assert f'name="_selected_action" value="{conn.pk}"' in page
    # Read-only: no form field to change sync, cap or contact object here, and no Save.
    for field in ("sync_enabled", "api_cap_percent", "contact_object"):
        assert f'name="{field}"' not in page
    assert 'name="_save"' not in page
    for secret in (conn.access_token, conn.refresh_token, conn.access_token_enc, conn.refresh_token_enc):
        assert secret not in page
    # Posting the page's form anyway changes nothing.
    support_client.post(reverse("admin:integrations_salesforceconnection_change", args=[conn.pk]),
                        {"sync_enabled": "on", "api_cap_percent": "5"})
    conn.refresh_from_db()
    assert conn.sync_enabled is False and conn.api_cap_percent == 50


def test_a_portal_admin_who_is_not_staff_gets_nothing(client_admin_a, admin_a, conn):
    assert not admin_a.is_staff
    for url in (reverse("admin:index"), reverse(CHANGELIST),
                reverse("admin:integrations_salesforceconnection_change", args=[conn.pk]),
                reverse("admin:integrations_syncrun_changelist"), reverse("admin:integrations_supportevent_changelist"),
                reverse("admin:engagement_campaign_changelist")):
        resp = client_admin_a.get(url)
        assert resp.status_code == 302 and resp["Location"].startswith(reverse("admin:login")), url
    for action, extra in (("enable_sync", {}), ("set_api_cap", {"step": "review", "api_cap_percent": "5"}),
                          ("disconnect", {})):
        resp = client_admin_a.post(reverse(CHANGELIST), {"action": action, "_selected_action": [conn.pk],
                                                         "confirm": "yes", **extra})
        assert resp.status_code == 302 and resp["Location"].startswith(reverse("admin:login"))
    conn.refresh_from_db()
    assert conn.sync_enabled is False and conn.api_cap_percent == 50 and conn.has_tokens
    assert not LogEntry.objects.exists() and not SupportEvent.objects.exists()


def _cmd(*args):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("salesforce", *args, stdout=out)
    return out.getvalue()


def test_every_action_has_a_command_twin_that_logs_the_same_way(conn, sfsim):
    from django.core.management.base import CommandError

    UserFactory(email=SUPPORT_EMAIL, is_staff=True)
    UserFactory(email="ada2@alpha.example")  # not staff
    by = ["--by", SUPPORT_EMAIL]
    with pytest.raises(CommandError, match="enable needs --by EMAIL"):
        _cmd("enable", "alpha")
    with pytest.raises(CommandError, match="no active staff user has this email"):
        _cmd("enable", "alpha", "--by", "ada2@alpha.example")
    with pytest.raises(CommandError, match="cap needs --percent N"):
        _cmd("cap", "alpha", "--percent", "101", *by)
    with pytest.raises(CommandError, match="Not a Salesforce API name: Donor c"):
        _cmd("contact-object", "alpha", "--lookup-field", "Donor__c", "--object", "Donor c", "--email-field", "Email", *by)
    assert _log_messages(conn) == [] and _history(conn.portal) == []

    assert "alpha: sync enabled" in _cmd("enable", "alpha", *by)
    assert "alpha: sync paused" in _cmd("pause", "alpha", *by)
    assert "alpha: API cap set to 20% of the org's daily requests = 3,000 calls per day" in _cmd("cap", "alpha", "--percent", "20", *by)
    assert "alpha: contact object set to Donor__c → Donor__c.Email__c" in _cmd(
        "contact-object", "alpha", "--lookup-field", "Donor__c", "--object", "Donor__c", "--email-field", "Email__c", *by)
    status = _cmd("status", "alpha")
    assert "Paused since" in status and f"by {SUPPORT_EMAIL}" in status
    assert "API cap: 20% of the org's daily requests = 3,000 calls per day" in status
    assert "alpha: disconnected from Salesforce (token revoked)" in _cmd("disconnect", "alpha", *by)
    conn.refresh_from_db()
    assert _log_messages(conn) == [
        f"Sync enabled by {SUPPORT_EMAIL}",
        f"Sync paused by {SUPPORT_EMAIL}",
        f"API cap changed from 50% to 20% of the org's daily requests by {SUPPORT_EMAIL}",
        f"Contact object changed from Contact__c → Contact.Email to Donor__c → Donor__c.Email__c by {SUPPORT_EMAIL}",
        f"Disconnected from Salesforce (token revoked at Salesforce) by {SUPPORT_EMAIL}",
    ]
    assert [kind for kind, _ in _history(conn.portal)] == ["enabled", "paused", "api_cap", "contact_object", "disconnected"]
    assert set(SupportEvent.objects.values_list("actor__email", flat=True)) == {SUPPORT_EMAIL}


def test_the_connection_page_answers_support_questions_at_a_glance(support_client, conn, admin_a):
    from datetime import timedelta

    from django.utils import timezone

    from contacts.models import Contact
    from engagement.models import Send
    from integrations.models import SyncRun
    from integrations.salesforce import support

    support.sync_enable(connection=conn)
    staff = UserFactory(email="pauser@thankview.example", is_staff=True)
    support.sync_pause(connection=conn, by=staff)
    now = timezone.now()
    for i in range(12):  # runs 0..11 hours ago; the page shows the newest 10
        SyncRun.objects.create(portal=conn.portal, org_id=conn.org_id, started_at=now - timedelta(hours=i),
                               cutoff=now, outcome="ok", due=100 + i, created=90 + i, api_calls=10 + i)
    SalesforceConnection.objects.filter(pk=conn.pk).update(
        error_kind="mapping", error_code="INVALID_FIELD", error_message="No such column 'Video_Url__c'",
        error_detail={"fields": ["Video_Url__c"]}, error_since=now, api_usage_max=15_000,
    )
    gala = Campaign.objects.create(portal=conn.portal, name="Spring Gala", video_url="https://v.example.org/g.mp4")
    for i, status in enumerate(["unmatched", "unmatched", "failed", "synced"]):
        c = Contact.objects.create(portal=conn.portal, email=f"p{i}@x.org", email_normalized=f"p{i}@x.org")
        s = Send.objects.create(campaign=gala, contact=c)
        SalesforceRecord.objects.create(send=s, portal=conn.portal, org_id=conn.org_id, status=status,
                                        record_id="a0B000000000001AAA" if status == "synced" else "")
    support.campaign_resync(campaign=gala, requested_by=staff)

    page = support_client.get(reverse("admin:integrations_salesforceconnection_change", args=[conn.pk])).content.decode()
    text = unescape(strip_tags(page))
    assert f"Connected: Production org {conn.org_id} as {conn.username}" in text
    conn.refresh_from_db()
    assert f"Paused since {conn.sync_paused_at:%Y-%m-%d %H:%M} UTC by pauser@thankview.example" in text
    # The cap in calls, against the portal's calls of the last 24 hours (10 + 11 + ... + 21).
    used = sum(10 + i for i in range(12))
    assert f"50% of the org's 15,000 daily requests = 7,500 calls per day; {used} used in the last 24 hours" in text
    runs = page.split('data-testid="ov-runs"')[1].split("</table>")[0]
    assert runs.count("<tr>") == 1 + 10 and ">109<" in runs and ">110<" not in runs
    assert "Mapping Error" in text and "INVALID_FIELD No such column 'Video_Url__c' (fields: Video_Url__c)" in text
    assert "2 without a matching Contact or Lead, 1 rejected by Salesforce; 1 in Salesforce" in text
    assert "/alpha/integrations/salesforce/sync/?reason=rejected" in page
    assert f"?portal__id__exact={conn.portal_id}&amp;status__exact=unmatched" in page
    resync = page.split('data-testid="ov-resyncs"')[1].split("</table>")[0]
    assert "Spring Gala" in resync and "pauser@thankview.example" in resync and "0 re-synced" in resync
    assert "Sync paused by ThankView support (pauser@thankview.example)" in text
    for secret in (conn.access_token, conn.refresh_token, conn.access_token_enc, conn.refresh_token_enc):
        assert secret not in page
