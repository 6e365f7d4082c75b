"""Sending a campaign in the background: the Send button queues a SendJob; its page and
JSON show sends created and emails delivered out of the total, skipped contacts counted."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from engagement import jobs, services
from engagement.models import Send, SendJob
from engagement.services import sending
from engagement.tasks import run_send_job
from tests.contacts.factories import make_contact
from tests.engagement.factories import make_campaign


@pytest.fixture
def campaign(portal_a):
    return make_campaign(portal_a, name="Spring thanks")


def page_url(job, slug="alpha"):
    return reverse("engagement:send_job_detail", args=[slug, job.campaign_id, job.pk])


def status_url(job, slug="alpha"):
    return reverse("engagement:send_job_status", args=[slug, job.campaign_id, job.pk])


def people(portal, ok=5):
    contacts = [make_contact(portal, email=f"ok{i}@example.org") for i in range(ok)]
    make_contact(portal, email="gone@example.org", unsubscribed_at=timezone.now())
    make_contact(portal, email="bad@example.org", bounced_at=timezone.now())
    make_contact(portal, email="both@example.org", unsubscribed_at=timezone.now(), bounced_at=timezone.now())
    return contacts


def test_send_button_queues_a_job_and_its_page_follows_it_to_the_end(
    client_staff_a, portal_a, portal_b, campaign, staff_a, mailoutbox, django_capture_on_commit_callbacks
):
    people(portal_a)
    make_contact(portal_b, email="other@example.org")
    confirm = client_staff_a.post(f"/alpha/campaigns/{campaign.pk}/send/", {"recipients": "all"}).content.decode()
    nonce = re.search(r'name="confirm" value="([^"]+)"', confirm).group(1)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_staff_a.post(f"/alpha/campaigns/{campaign.pk}/send/", {"confirm": nonce})
    job = SendJob.objects.get()
    assert response.status_code == 302 and response["Location"] == page_url(job)
    assert (job.status, job.audience, job.created_by) == ("queued", {"kind": "all"}, staff_a)
    assert not Send.objects.exists() and mailoutbox == []  # nothing done in the request
    page = client_staff_a.get(page_url(job)).content.decode()
    assert "Waiting for a worker to start sending…" in page and "Refresh</a>" in page
    assert client_staff_a.get(status_url(job)).json()["bars"] == {"sends": None, "delivered": None}

    with django_capture_on_commit_callbacks(execute=True):
        callbacks[0]()  # the job's task; its delivery tasks run as each chunk commits
    job.refresh_from_db()
    assert (job.status, job.total, job.skipped_unsubscribed, job.skipped_bounced, job.sends) == ("created", 8, 2, 1, 5)
    assert len(mailoutbox) == 5 and Send.objects.filter(sent_at=job.sent_at, emailed_at__isnull=False).count() == 5
    data = client_staff_a.get(status_url(job)).json()
    assert data["finished"] is True and data["label"] == "Done: 5 of 5 emails delivered."
    assert data["bars"] == {"sends": {"value": 5, "max": 5}, "delivered": {"value": 5, "max": 5}}
    assert data["fields"]["skipped_unsubscribed"] == 2
    assert (data["fields"]["skipped_bounced"], data["fields"]["total"], data["fields"]["pending"]) == (1, 8, 0)
    page = client_staff_a.get(page_url(job)).content.decode()
    assert "Done: 5 of 5 emails delivered." in page and "Refresh</a>" not in page
    assert 'Skipped: unsubscribed</dt><dd data-progress-field="skipped_unsubscribed">2</dd>' in page


def test_status_part_way_through_creating(client_staff_a, portal_a, campaign):
    contacts = people(portal_a)
    job = SendJob.objects.create(
        campaign=campaign, audience={"kind": "all"}, status="creating", total=8, skipped_unsubscribed=2,
        skipped_bounced=1, sends=3,
    )
    sends = [Send.objects.create(campaign=campaign, contact=c, sent_at=job.sent_at) for c in contacts[:3]]
    Send.objects.filter(pk=sends[0].pk).update(emailed_at=timezone.now())
    Send.objects.create(campaign=campaign, contact=contacts[4])  # another job's send: not counted
    data = client_staff_a.get(status_url(job)).json()
    assert data["finished"] is False
    assert data["label"] == "Creating sends: 3 of 5. Emails delivered so far: 1."
    assert data["bars"] == {"sends": {"value": 3, "max": 5}, "delivered": {"value": 1, "max": 3}}
    page = client_staff_a.get(page_url(job)).content.decode()
    assert 'data-progress-bar="sends" value="3" max="5"' in page
    assert 'data-progress-bar="delivered" value="1" max="3"' in page
    assert "static/js/progress.js" in page


def test_delivery_still_running_and_contacts_who_left_before_delivery(
    portal_a, campaign, client_staff_a, mailoutbox, django_capture_on_commit_callbacks
):
    contacts = people(portal_a, ok=3)
    job = SendJob.objects.create(campaign=campaign, audience={"kind": "all"})
    with django_capture_on_commit_callbacks(execute=False) as deliveries:
        services.send_job_run(job=job, deliver=jobs.deliveries_enqueue)
    data = client_staff_a.get(status_url(job)).json()
    assert data["label"] == "All 3 sends created. Delivering emails: 0 of 3…" and data["finished"] is False
    services.send_unsubscribe(send=Send.objects.get(contact=contacts[0]))  # before their email went out
    for deliver in deliveries:
        deliver()
    data = client_staff_a.get(status_url(job)).json()
    assert data["finished"] is True
    assert data["label"] == "Done: 2 of 2 emails delivered. 1 not emailed (unsubscribed or bounced before delivery)."
    assert data["fields"]["withheld"] == 1 and len(mailoutbox) == 2


def test_sends_are_created_in_committed_chunks_each_queueing_its_delivery(
    portal_a, campaign, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(sending, "SEND_JOB_CHUNK", 2)
    people(portal_a, ok=5)
    job = SendJob.objects.create(campaign=campaign, audience={"kind": "all"})
    seen = []
    real_send = sending.sends_create

    def observing_send(**kwargs):
        seen.append(SendJob.objects.values_list("sends", flat=True).get(pk=job.pk))
        return real_send(**kwargs)

    monkeypatch.setattr(sending, "sends_create", observing_send)
    with django_capture_on_commit_callbacks(execute=False) as deliveries:
        services.send_job_run(job=job, deliver=jobs.deliveries_enqueue)
    assert seen == [0, 2, 4]  # the count only ever covers chunks already created
    assert len(deliveries) == 3
    job.refresh_from_db()
    assert (job.status, job.sends) == ("created", 5)


def test_a_search_or_a_file_of_emails_chooses_the_audience(portal_a, portal_b, campaign):
    ann = make_contact(portal_a, email="ann@example.org", first_name="Ann")
    make_contact(portal_a, email="bob@example.org", first_name="Bob")
    make_contact(portal_b, email="zed@example.org", first_name="Ann")
    search = SendJob.objects.create(campaign=campaign, audience={"kind": "search", "q": "ann"})
    services.send_job_run(job=search, deliver=jobs.deliveries_enqueue)
    assert list(Send.objects.filter(sent_at=search.sent_at).values_list("contact", flat=True)) == [ann.pk]
    emails = SendJob.objects.create(
        campaign=campaign, audience={"kind": "emails", "emails": ["bob@example.org", "zed@example.org", "no@x.org"]}
    )
    services.send_job_run(job=emails, deliver=jobs.deliveries_enqueue)
    emails.refresh_from_db()
    assert (emails.total, emails.sends, emails.not_found) == (1, 1, 2)  # another portal's contact is "not found"


def test_rerunning_a_job_resumes_without_duplicates_and_a_finished_job_is_left_alone(portal_a, campaign):
    contacts = people(portal_a, ok=3)
    job = SendJob.objects.create(campaign=campaign, audience={"kind": "all"}, status="creating")
    Send.objects.create(campaign=campaign, contact=contacts[0], sent_at=job.sent_at)  # before a worker died
    assert run_send_job(job.pk) == "created"
    assert Send.objects.filter(sent_at=job.sent_at).count() == 3
    assert run_send_job(job.pk) == "created"
    assert Send.objects.count() == 3
    assert run_send_job(987654) is None


def test_a_failure_marks_the_job_failed_and_says_what_was_done(portal_a, campaign, client_staff_a, monkeypatch):
    people(portal_a, ok=2)
    job = SendJob.objects.create(campaign=campaign, audience={"kind": "all"})

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(sending, "sends_create", broken)
    services.send_job_run(job=job, deliver=jobs.deliveries_enqueue)
    data = client_staff_a.get(status_url(job)).json()
    assert data["status"] == "failed" and data["finished"] is True
    assert data["label"].startswith("Stopped: Creating the sends stopped because of an internal error.")
    assert "database went away" not in data["label"]


def test_nobody_to_send_to(portal_a, campaign, client_staff_a):
    people(portal_a, ok=0)
    job = SendJob.objects.create(campaign=campaign, audience={"kind": "all"})
    services.send_job_run(job=job, deliver=jobs.deliveries_enqueue)
    data = client_staff_a.get(status_url(job)).json()
    assert data["finished"] is True and data["label"] == "No contacts to send to: nothing was sent."
    assert data["fields"]["skipped_unsubscribed"] == 2 and data["fields"]["skipped_bounced"] == 1


def test_another_portals_send_job_is_404(client_b, portal_a, campaign):
    job = SendJob.objects.create(campaign=campaign, audience={"kind": "all"})
    for url in (page_url(job), status_url(job), page_url(job, "beta"), status_url(job, "beta")):
        assert client_b.get(url).status_code == 404, url
    other = make_campaign(portal_a)
    wrong_campaign = reverse("engagement:send_job_status", args=["alpha", other.pk, job.pk])
    assert client_b.get(wrong_campaign).status_code == 404


def test_campaign_page_links_to_a_send_in_progress(client_staff_a, portal_a, campaign):
    job = SendJob.objects.create(campaign=campaign, audience={"kind": "all"})
    html = client_staff_a.get(f"/alpha/campaigns/{campaign.pk}/").content.decode()
    assert "This campaign is being sent right now." in html and page_url(job) in html


def test_emails_that_cannot_be_delivered_are_counted_as_failed_and_the_send_finishes(
    client_staff_a, portal_a, campaign, mailoutbox, settings, eager_retries, django_capture_on_commit_callbacks
):
    for email in ("ok1@example.org", "refused@example.org", "ok2@example.org", "broken@example.org"):
        make_contact(portal_a, email=email)
    # The server refuses one address on every attempt (retried, then given up) and the other
    # email raises an error no retry can help with.
    settings.EMAIL_BACKEND = "tests.engagement.failing_backend.RefusingBackend"
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.send_job_start(campaign=campaign, audience={"kind": "all"})
    assert sorted(m.to[0] for m in mailoutbox) == ["ok1@example.org", "ok2@example.org"]
    data = client_staff_a.get(status_url(job)).json()
    assert data["finished"] is True  # the poller stops
    assert data["label"] == "Done: 2 of 4 emails delivered. 2 could not be delivered."
    assert (data["fields"]["emailed"], data["fields"]["failed"], data["fields"]["pending"]) == (2, 2, 0)
    page = client_staff_a.get(page_url(job)).content.decode()
    assert 'data-progress-finished="true"' in page and "Refresh</a>" not in page
    assert '<dt>Could not be delivered</dt><dd data-progress-field="failed">2</dd>' in page

    campaign_page = client_staff_a.get(f"/alpha/campaigns/{campaign.pk}/").content.decode()
    assert "being sent right now" not in campaign_page
    assert campaign_page.count("Not delivered</span>") == 2 and "Queued</span>" not in campaign_page
    refused = Send.objects.get(contact__email="refused@example.org")
    send_page = client_staff_a.get(refused.get_absolute_url()).content.decode()
    assert "Email not delivered" in send_page and "Email queued" not in send_page
    assert "SMTPRecipientsRefused" in send_page and "User unknown" in send_page
    ok = Send.objects.get(contact__email="ok1@example.org")
    assert "Email not delivered" not in client_staff_a.get(ok.get_absolute_url()).content.decode()
