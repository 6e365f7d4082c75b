"""One sync status for every page and the API (integrations.salesforce.status): what the
Integrations & APIs overview, Salesforce Settings and Sync health say before any run, after a
run, when support paused the sync, and when beat will really start the next run."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from integrations.models import SalesforceConnection
from integrations.salesforce import support
from integrations.salesforce.schedule import TASK_NAME, ensure_sync_schedule, next_run_at
from integrations.salesforce.selectors import send_sync_status
from integrations.salesforce.status import count_text, duration_text, sync_status
from tests.factories import UserFactory
from tests.sync.conftest import run_sync

pytestmark = pytest.mark.django_db


def pages(portal):
    return {
        "hub": reverse("integrations:hub", args=[portal.slug]),
        "settings": reverse("integrations:salesforce_settings", args=[portal.slug]),
        "health": reverse("integrations:sync_health", args=[portal.slug]),
    }


def text_of(html, testid):
    """The text of the element with ``data-testid`` (tags dropped, spaces collapsed)."""
    m = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</d[dt]>', html, re.S)
    assert m, testid
    return " ".join(re.sub(r"<[^>]+>", "", m.group(1).replace("<br>", " ")).split())


def schedule(every=7200):
    return ensure_sync_schedule(PeriodicTask, IntervalSchedule, every)


def test_next_run_before_beat_ran_is_the_schedule_start_plus_the_interval():
    task = schedule()
    start = timezone.now() - timedelta(minutes=20)
    PeriodicTask.objects.filter(pk=task.pk).update(date_changed=start, last_run_at=None)
    assert next_run_at() == start + timedelta(hours=2)


def test_next_run_after_a_run_is_that_run_plus_the_interval_and_never_in_the_past():
    task = schedule()
    ran = timezone.now() - timedelta(minutes=30)
    PeriodicTask.objects.filter(pk=task.pk).update(last_run_at=ran)
    assert next_run_at() == ran + timedelta(hours=2)
    now = timezone.now()
    PeriodicTask.objects.filter(pk=task.pk).update(last_run_at=now - timedelta(hours=3))
    assert next_run_at(now=now) == now  # overdue: beat starts it at its next tick


def test_next_run_is_none_without_an_enabled_schedule():
    PeriodicTask.objects.filter(name=TASK_NAME).delete()
    assert next_run_at() is None


def test_counts_and_durations_in_words():
    assert count_text(1, "send") == "1 send"
    assert count_text(0, "send") == "0 sends"
    assert count_text(1200, "contact") == "1,200 contacts"
    assert duration_text(7200) == "2 hours"
    assert duration_text(1800) == "30 minutes"
    assert duration_text(5400) == "1 hour 30 minutes"
    assert duration_text(3601) == "1 hour 1 second"


def test_before_any_run_no_page_claims_the_sends_are_in_salesforce(client_admin_a, sync_conn, make_send):
    make_send(email="nobody@example.org")
    schedule()
    for name, url in pages(sync_conn.portal).items():
        html = client_admin_a.get(url).content.decode()
        assert text_of(html, "last-sync") == "No sync has run yet.", name
        assert text_of(html, "sync-state") == "Enabled", name
    health = client_admin_a.get(pages(sync_conn.portal)["health"]).content.decode()
    assert "Every send that was due is in Salesforce" not in health
    assert "No sync has run yet, so no send has been checked." in health


def test_after_a_run_every_page_shows_its_time_outcome_and_counts(client_admin_a, sync_conn, make_send, sim):
    sim.seed("Contact", [{"LastName": "Doe", "Email": "jane@x.org"}])
    make_send(email="jane@x.org", events=["opened"])
    make_send(email="nobody@example.org")
    run = run_sync(sync_conn.portal)
    task = schedule()
    PeriodicTask.objects.filter(pk=task.pk).update(last_run_at=run.started_at)
    expected_last = (
        f"{run.started_at:%-d %b %Y, %H:%M} UTC: Completed. "
        "2 sends due: 1 created, 0 updated, 1 without a match, 0 rejected."
    )
    expected_next = f"{run.started_at + timedelta(hours=2):%-d %b %Y, %H:%M} UTC"
    for name, url in pages(sync_conn.portal).items():
        html = client_admin_a.get(url).content.decode()
        assert text_of(html, "last-sync") == expected_last, name
        assert text_of(html, "next-sync") == expected_next, name
    health = client_admin_a.get(pages(sync_conn.portal)["health"]).content.decode()
    assert text_of(health, "totals-synced") == "1 send has a ThankView__c record"
    assert text_of(health, "totals-unsynced") == "1 send without a matching Contact or Lead, 0 rejected by Salesforce"


def test_paused_sync_reads_paused_by_support_since_on_every_page_and_the_api(
    client_admin_a, sync_conn, make_send
):
    send = make_send(email="later@example.org", sent_at=timezone.now() - timedelta(hours=1))
    schedule()
    support.sync_pause(connection=sync_conn, by=UserFactory(email="helper@thankview.example", is_staff=True))
    sync_conn.refresh_from_db()
    since = f"{sync_conn.sync_paused_at:%-d %b %Y, %H:%M} UTC"
    for name, url in pages(sync_conn.portal).items():
        html = client_admin_a.get(url).content.decode()
        assert text_of(html, "sync-state") == (
            f"Paused by ThankView support since {since} Nothing is lost: activity from the pause on is "
            "synced once support turns the sync back on."
        ), name
        assert text_of(html, "next-sync") == "None while the sync is paused.", name
        assert "Not enabled yet" not in html, name
    status = send_sync_status(send)
    assert status["label"] == "Sync is paused by ThankView support; this send is synced once it is turned back on."
    assert sync_status(portal=sync_conn.portal, connection=sync_conn).as_json()["paused_since"] == sync_conn.sync_paused_at.isoformat()


def test_never_enabled_sync_reads_not_enabled_yet(client_admin_a, connected_portal_a):
    conn = SalesforceConnection.objects.get(portal=connected_portal_a)
    assert not conn.sync_enabled and conn.sync_paused_at is None
    for name, url in pages(connected_portal_a).items():
        html = client_admin_a.get(url).content.decode()
        assert text_of(html, "sync-state") == (
            "Not enabled yet Connecting and enabling sync are separate steps: contact ThankView support to turn it on."
        ), name
        assert text_of(html, "next-sync") == "None until ThankView support enables the sync.", name
