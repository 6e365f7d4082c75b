"""In a real browser: upload a CSV, land on the progress page, and see the finished result
appear without reloading (static/js/progress.js polling the status JSON)."""

import pytest
from playwright.sync_api import expect

from contacts import tasks
from contacts.models import Contact, ContactImport

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSV = b"Email,First Name,Donor ID\nann@example.org,Ann,003RO0000035WQgYAM\nnope,Bad,\nbob@example.org,Bob,1004422\n"


def test_upload_then_the_result_appears_on_the_progress_page(login, live_server, staff_a, portal_a, tmp_path, monkeypatch):
    # Hold the task back (as a busy worker would) so the page first shows the waiting state;
    # this test then plays the worker. With CELERY_TASK_ALWAYS_EAGER it would run in the request.
    queued = []
    monkeypatch.setattr(tasks.import_contacts, "delay", lambda import_id: queued.append(import_id))
    path = tmp_path / "donors.csv"
    path.write_bytes(CSV)

    page = login(staff_a)
    page.goto(f"{live_server.url}/alpha/contacts/import/")
    page.get_by_label("CSV file").set_input_files(str(path))
    page.get_by_role("button", name="Import").click()

    status = page.get_by_role("status")
    expect(status).to_have_text("Waiting for a worker to start the import…")
    expect(page.locator("#import-progress")).to_be_visible()
    expect(page.get_by_role("link", name="Refresh")).to_be_hidden()  # the script polls instead
    page.evaluate("window.__notReloaded = true")
    assert queued == [ContactImport.objects.get().pk] and not Contact.objects.exists()

    tasks.import_contacts(queued[0])  # the worker runs the import

    expect(status).to_have_text("Import finished: imported 2, updated 0, rejected 1 of 3 rows.")
    result = page.locator("[data-progress-result]")
    expect(result.get_by_role("row", name="3 nope “nope” is not a valid email address.")).to_be_visible()
    expect(result.get_by_text("Donor ID 1004422 imported but flagged invalid")).to_be_visible()
    expect(page.locator("#import-progress")).to_be_hidden()
    assert page.evaluate("window.__notReloaded") is True  # updated in place, not reloaded
    expect(page.locator("[data-progress-url]")).to_have_attribute("data-progress-state", "done")
    assert set(Contact.objects.values_list("email_normalized", flat=True)) == {"ann@example.org", "bob@example.org"}


def test_send_progress_counts_deliveries_as_they_happen(login, live_server, staff_a, portal_a, monkeypatch):
    from engagement import tasks as engagement_tasks
    from tests.contacts.factories import make_contact
    from tests.engagement.factories import make_campaign

    campaign = make_campaign(portal_a, name="Thanks")
    for i in range(3):
        make_contact(portal_a, email=f"p{i}@example.org")
    make_contact(portal_a, email="gone@example.org", unsubscribed_at="2026-01-01T00:00:00Z")
    deliveries = []  # the Sends are created inline (eager); their emails wait for the "worker"
    monkeypatch.setattr(engagement_tasks.deliver_sends, "delay", lambda ids: deliveries.append(ids))

    page = login(staff_a)
    page.goto(f"{live_server.url}/alpha/campaigns/{campaign.pk}/send/")
    page.get_by_label("All contacts").check()
    page.get_by_role("button", name="Review and send").click()
    expect(page.get_by_text("1 skipped: unsubscribed from your emails.")).to_be_visible()
    page.get_by_role("button", name="Send to 3 contacts").click()

    status = page.get_by_role("status")
    expect(status).to_have_text("All 3 sends created. Delivering emails: 0 of 3…")
    expect(page.locator("[data-progress-field=skipped_unsubscribed]")).to_have_text("1")
    expect(page.locator("#send-progress-delivered")).to_have_attribute("value", "0")

    engagement_tasks.deliver_sends(deliveries[0])  # the worker delivers
    expect(status).to_have_text("Done: 3 of 3 emails delivered.")
    expect(page.locator("#send-progress-delivered")).to_have_js_property("value", 3)
    expect(page.locator("[data-progress-field=emailed]")).to_have_text("3")
