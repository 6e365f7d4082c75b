"""Support operations: enable/pause, re-sync campaigns (command and admin), org change,
the sync_salesforce command, the beat schedule and the fan-out task."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.sync.conftest import record_of, run_sync

pytestmark = pytest.mark.django_db


def cmd(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def by(db):
    """The staff user a changing command names with --by."""
    from tests.factories import UserFactory

    return UserFactory(email="support@thankview.example", is_staff=True).email


def test_enable_pause_status_commands(connected_portal_a, sim, by):
    conn = connected_portal_a.salesforce_connection
    assert not conn.sync_enabled
    assert "sync enabled" in cmd("salesforce", "enable", "alpha", "--by", by)
    conn.refresh_from_db()
    first = conn.sync_enabled_at
    assert conn.sync_enabled and first is not None
    assert "paused" in cmd("salesforce", "pause", "alpha", "--by", by)
    conn.refresh_from_db()
    assert not conn.sync_enabled
    cmd("salesforce", "enable", "alpha", "--by", by)
    conn.refresh_from_db()
    assert conn.sync_enabled_at == first  # re-enabling after a pause resumes, it does not skip
    out = cmd("salesforce", "status", "alpha")
    assert "sync: enabled" in out and conn.org_id in out


def test_connected_but_not_enabled_is_never_synced(connected_portal_a, sim, make_send):
    from integrations.salesforce.tasks import sync_all_portals

    sim.seed("Contact", [{"LastName": "Doe", "Email": "jane@x.org"}])
    make_send(email="jane@x.org")
    sim.reset_stats()
    assert sync_all_portals() == 0
    assert "No portal is connected with sync enabled" in cmd("sync_salesforce")
    assert "skipped (sync_disabled)" in cmd("sync_salesforce", "--portal", "alpha")
    assert sim.stats()["api_calls"] == 0


def test_sync_salesforce_command_prints_the_summary(sync_conn, sim, make_send):
    sim.seed("Contact", [{"LastName": "Doe", "Email": "jane@x.org"}])
    make_send(email="jane@x.org")
    make_send(email="ghost@x.org")
    out = cmd("sync_salesforce", "--portal", "alpha")
    assert "alpha: Completed: due 2, created 1, updated 0, unmatched 1, failed 0, API calls" in out


def test_fan_out_task_runs_enabled_portals(sync_conn, sim, make_send):
    from integrations.models import SyncRun
    from integrations.salesforce.tasks import sync_all_portals

    sim.seed("Contact", [{"LastName": "Doe", "Email": "jane@x.org"}])
    send = make_send(email="jane@x.org")
    assert sync_all_portals() == 1  # eager in tests: sync_portal ran too
    assert SyncRun.objects.get().trigger == "beat"
    assert record_of(send).status == "synced"


def test_beat_schedule_created_by_migration():
    from django.conf import settings
    from django_celery_beat.models import PeriodicTask

    from integrations.salesforce.schedule import TASK_NAME

    task = PeriodicTask.objects.get(name=TASK_NAME)
    assert task.task == "integrations.salesforce.tasks.sync_all_portals" and task.enabled
    assert task.interval.every == settings.SALESFORCE_SYNC_INTERVAL_SECONDS and task.interval.period == "seconds"


def test_resync_campaign_command_syncs_sends_from_before_enable(sync_conn, sim, make_send, campaign_a, by):
    sim.seed("Contact", [{"LastName": "Doe", "Email": "jane@x.org"}])
    old = make_send(email="jane@x.org", sent_at=sync_conn.sync_enabled_at - timedelta(days=30), events=["opened"])
    assert run_sync(sync_conn.portal).due == 0
    out = cmd("salesforce", "resync", "alpha", "--campaign", str(campaign_a.pk), "--by", by)
    assert "1 send(s)" in out
    run = run_sync(sync_conn.portal)
    assert run.created == 1
    rec = record_of(old)
    assert rec.record_id and rec.resync_requested_at is None
    # Re-syncing a synced campaign updates the same record, never a second one.
    cmd("salesforce", "resync", "alpha", "--campaign", str(campaign_a.pk), "--by", by)
    run = run_sync(sync_conn.portal)
    assert (run.created, run.updated) == (0, 1)
    assert len(sim.records("ThankView__c")) == 1


def test_resync_command_refuses_another_portals_campaign(sync_conn, portal_b, by):
    from django.core.management.base import CommandError

    from engagement.models import Campaign

    other = Campaign.objects.create(portal=portal_b, name="B", video_url="https://v.example.org/b.mp4")
    with pytest.raises(CommandError):
        cmd("salesforce", "resync", "alpha", "--campaign", str(other.pk), "--by", by)


def test_admin_actions_enable_and_resync(connected_portal_a, sim, make_send, campaign_a, client):
    from tests.factories import UserFactory

    support = UserFactory(email="support@thankview.example", is_staff=True, is_superuser=True)
    client.force_login(support)
    conn = connected_portal_a.salesforce_connection
    resp = client.post(
        reverse("admin:integrations_salesforceconnection_changelist"),
        {"action": "enable_sync", "_selected_action": [conn.pk], "confirm": "yes"},
    )
    assert resp.status_code == 302
    conn.refresh_from_db()
    assert conn.sync_enabled and conn.sync_enabled_at

    sim.seed("Contact", [{"LastName": "Doe", "Email": "jane@x.org"}])
    old = make_send(email="jane@x.org", sent_at=conn.sync_enabled_at - timedelta(days=3))
    resp = client.post(
        reverse("admin:engagement_campaign_changelist"),
        {"action": "resync_campaigns", "_selected_action": [campaign_a.pk], "confirm": "yes"},
    )
    assert resp.status_code == 302
    assert run_sync(connected_portal_a).created == 1
    assert record_of(old).record_id
    assert client.get(reverse("admin:integrations_syncrun_changelist")).status_code == 200


def test_admin_enable_after_pause_keeps_the_first_enable(connected_portal_a, client):
    from tests.factories import UserFactory

    client.force_login(UserFactory(email="support2@thankview.example", is_staff=True, is_superuser=True))
    conn = connected_portal_a.salesforce_connection
    url = reverse("admin:integrations_salesforceconnection_changelist")

    def act(action):
        assert client.post(url, {"action": action, "_selected_action": [conn.pk], "confirm": "yes"}).status_code == 302
        conn.refresh_from_db()

    act("enable_sync")
    first = conn.sync_enabled_at
    assert conn.sync_enabled is True and first is not None
    act("pause_sync")
    assert conn.sync_enabled is False
    act("enable_sync")
    assert conn.sync_enabled is True
    assert conn.sync_enabled_at == first  # re-enabling after a pause resumes, it does not skip


def test_org_change_starts_clean_and_never_writes_old_ids(sync_conn, sim, make_send, client_admin_a, sf_connect):
    from integrations.models import SalesforceRecord

    sim.seed("Contact", [{"LastName": "Doe", "Email": "jane@x.org"}])
    send = make_send(email="jane@x.org", events=["opened"])
    run_sync(sync_conn.portal)
    old_org, old_record = sync_conn.org_id, record_of(send).record_id

    sim.reset()  # production, behind the same login host, is another org
    [new_contact] = sim.seed("Contact", [{"LastName": "Doe", "Email": "jane@x.org"}])
    conn = sf_connect(client_admin_a, sync_conn.portal)
    assert conn.org_id != old_org and conn.sync_enabled
    sim.reset_stats()
    run = run_sync(sync_conn.portal)
    assert (run.created, run.updated) == (1, 0)
    assert not [c for c in sim.stats()["log"] if c["method"] == "PATCH"]  # no update under an old id
    [rec] = sim.records("ThankView__c")
    assert rec["Id"] != old_record and rec["Contact__c"] == new_contact
    assert SalesforceRecord.objects.filter(send=send).count() == 2  # the old org's row is kept
    assert SalesforceRecord.objects.get(send=send, org_id=old_org).record_id == old_record


def test_pause_and_enable_are_written_to_the_portals_sync_history(sync_conn, staff_a):
    from integrations.models import SupportEvent
    from integrations.salesforce import support

    assert support.sync_pause(connection=sync_conn, by=staff_a) is True
    assert sync_conn.sync_paused_at is not None and sync_conn.sync_changed_by == staff_a
    assert support.sync_pause(connection=sync_conn, by=staff_a) is False  # already paused: no second line
    assert support.sync_enable(connection=sync_conn) is True
    assert sync_conn.sync_paused_at is None and sync_conn.sync_changed_by is None
    lines = list(SupportEvent.objects.filter(portal=sync_conn.portal).order_by("at", "id").values_list("kind", "summary", "actor"))
    assert lines == [
        ("enabled", "Sync enabled by ThankView support", None),  # the fixture's enable
        ("paused", "Sync paused by ThankView support", staff_a.pk),
        ("enabled", "Sync enabled by ThankView support", None),
    ]


def test_resync_writes_a_history_line_naming_the_campaign(sync_conn, campaign_a, make_send, staff_a):
    from integrations.models import SupportEvent
    from integrations.salesforce import support

    make_send(email="jane@x.org")
    assert support.campaign_resync(campaign=campaign_a, requested_by=staff_a) == 1
    event = SupportEvent.objects.filter(portal=sync_conn.portal).latest("at", "id")
    assert (event.kind, event.summary, event.actor) == ("resync", f"Re-sync of {campaign_a.name} requested", staff_a)
