"""Sync health page additions: support re-sync progress (server-rendered,
then kept current by a JSON endpoint the page polls), and the last 30 days of runs as an
accessible inline SVG chart. Portal-scoped."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.models import SyncRun
from integrations.salesforce import support

from .conftest import record_of, run_sync

pytestmark = pytest.mark.django_db


def _health(client, portal):
    return client.get(reverse("integrations:sync_health", args=[portal.slug])).content.decode()


def _status(client, portal):
    resp = client.get(reverse("integrations:resync_progress", args=[portal.slug]))
    assert resp.status_code == 200 and resp["Content-Type"] == "application/json"
    return json.loads(resp.content)


def test_resync_progress_moves_from_requested_to_done(sync_conn, sim, make_send, campaign_a, portal_a, client_admin_a):
    sim.seed("Contact", [{"LastName": f"D{i}", "Email": f"d{i}@x.org"} for i in range(4)])
    sends = [make_send(email=f"d{i}@x.org", events=["opened"]) for i in range(4)]
    nobody = make_send(email="nobody@x.org")  # no match: done, but not synced
    run_sync(portal_a)
    assert "resync-progress" not in _health(client_admin_a, portal_a)  # nothing requested

    support.campaign_resync(campaign=campaign_a)
    data = _status(client_admin_a, portal_a)
    [p] = data["resyncs"]
    assert (p["total"], p["synced"], p["not_synced"], p["waiting"], p["done"]) == (5, 0, 0, 5, False)
    assert data["finished"] is False and data["bars"][f"resync-{p['id']}"] == {"value": 0, "max": 5}
    html = _health(client_admin_a, portal_a)
    assert 'data-testid="resync-progress"' in html and "data-progress-url=" in html
    assert "js/progress.js" in html and "0 of 5 sends done" in html

    run_sync(portal_a)
    data = _status(client_admin_a, portal_a)
    [p] = data["resyncs"]
    assert (p["synced"], p["not_synced"], p["waiting"], p["done"], p["percent"]) == (4, 1, 0, True, 100)
    assert data["finished"] is True and data["label"] == "Every requested re-sync is done."
    assert data["fields"][f"resync-{p['id']}-synced"] == 4
    html = _health(client_admin_a, portal_a)
    assert "js/progress.js" not in html  # nothing left to poll
    # The page's 4 synced and 1 not synced are these sends, as stored.
    assert [record_of(s).status for s in sends] == ["synced"] * 4
    assert record_of(nobody).status == "unmatched"


def test_resync_progress_is_portal_scoped(sync_conn, make_send, campaign_a, portal_a, portal_b, client_b, client_admin_a):
    make_send(email="d0@x.org")
    support.campaign_resync(campaign=campaign_a)
    assert client_b.get(reverse("integrations:resync_progress", args=[portal_a.slug])).status_code == 404
    assert _status(client_b, portal_b)["resyncs"] == []
    assert len(_status(client_admin_a, portal_a)["resyncs"]) == 1


def test_runs_chart_is_an_accessible_inline_svg_of_the_last_30_days(sync_conn, portal_a, client_staff_a):
    now = timezone.now()
    for days, created, updated, failed, calls, outcome in [
        (40, 99, 0, 0, 9, "ok"),  # older than 30 days: not drawn
        (10, 120, 30, 2, 7, "partial"),
        (3, 0, 80, 0, 3, "ok"),
        (1, 10, 0, 0, 2, "api_cap"),
    ]:
        SyncRun.objects.create(
            portal=portal_a, org_id=sync_conn.org_id, started_at=now - timedelta(days=days), finished_at=now - timedelta(days=days),
            cutoff=now - timedelta(days=days), created=created, updated=updated, failed=failed, api_calls=calls, outcome=outcome,
        )
    html = _health(client_staff_a, portal_a)
    start = html.index('data-testid="runs-chart"')
    svg = html[html.index("<svg", start): html.index("</svg>", start)]
    assert 'role="img"' in svg and 'aria-labelledby="runs-chart-title runs-chart-desc"' in svg
    assert "3 runs: 130 records created, 110 updated, 2 failed; 12 API calls in all, at most 7 in one run" in svg
    assert svg.count('class="created"') == 2 and svg.count('class="updated"') == 2 and svg.count('class="failed"') == 1
    assert svg.count("<circle") == 3 and "<polyline" in svg
    assert "120 created, 30 updated, 2 failed, 7 API calls" in svg  # per-bar <title>
    assert "Stopped: portal API cap reached" in svg
    assert "<script" not in svg and "cdn" not in html.lower()
    assert 'data-testid="chart-data"' in html  # the table behind the picture


def test_runs_chart_empty_state(sync_conn, portal_a, client_staff_a):
    html = _health(client_staff_a, portal_a)
    assert 'data-testid="chart-empty"' in html and "No sync runs in the last 30 days." in html


def test_chart_bar_heights_follow_the_figures():
    from integrations.salesforce.charts import runs_chart

    now = timezone.now()
    runs = [SyncRun(started_at=now - timedelta(days=d), created=c, updated=0, failed=0, api_calls=1, outcome="ok")
            for d, c in ((2, 50), (1, 100))]
    chart = runs_chart(runs, now=now)
    (_, _, h1, _), = chart.bars[0].segments
    (_, _, h2, _), = chart.bars[1].segments
    assert h2 == pytest.approx(2 * h1, rel=0.02)
    assert chart.bars[0].x < chart.bars[1].x  # time runs left to right
