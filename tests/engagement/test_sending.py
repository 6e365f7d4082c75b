"""Sending: Sends created, unsubscribed/bounced skipped and counted, emails delivered by the
Celery task (never in the request) with pixel, links and RFC 8058 headers, exactly once."""

import smtplib

import pytest
from django.utils import timezone

from engagement import jobs, services
from engagement.models import Send
from engagement.tasks import deliver_sends
from tests.contacts.factories import make_contact
from tests.engagement.factories import make_campaign


@pytest.fixture
def campaign(portal_a):
    return make_campaign(portal_a, name="Spring thanks")


def test_send_creates_sends_skips_blocked_contacts_and_emails_after_commit(
    campaign, portal_a, mailoutbox, django_capture_on_commit_callbacks
):
    ok = make_contact(portal_a, email="ok@example.org", first_name="Olu")
    unsub = make_contact(portal_a, email="gone@example.org", unsubscribed_at=timezone.now())
    bounced = make_contact(portal_a, email="bad@example.org", bounced_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = jobs.campaign_send(campaign=campaign, contacts_qs_or_ids=[ok.pk, unsub.pk, bounced.pk])
    assert (result.created, result.skipped_unsubscribed, result.skipped_bounced) == (1, 1, 1)
    assert [s.contact_id for s in result.sends] == [ok.pk]
    assert len(mailoutbox) == 0  # nothing is mailed inside the request/transaction
    assert len(callbacks) == 1
    callbacks[0]()
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    send = Send.objects.get(contact=ok)
    assert message.to == ["ok@example.org"]
    assert "Olu" in message.body and send.landing_url in message.body and send.unsubscribe_url in message.body
    html = message.alternatives[0][0]
    assert f'src="{send.pixel_url}"' in html and send.landing_url in html
    assert message.extra_headers["List-Unsubscribe"] == f"<{send.unsubscribe_url}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert send.landing_url.startswith("http") and send.landing_url.endswith(f"/v/{send.token}/")
    send.refresh_from_db()
    assert send.emailed_at is not None


def test_redelivered_task_does_not_email_twice(campaign, portal_a, mailoutbox):
    contact = make_contact(portal_a)
    send = jobs.campaign_send(campaign=campaign, contacts_qs_or_ids=[contact.pk]).sends[0]
    deliver_sends.delay([send.pk])
    deliver_sends.delay([send.pk])
    assert len(mailoutbox) == 1


def test_contact_who_unsubscribed_before_delivery_is_not_emailed(campaign, portal_a, mailoutbox):
    contact = make_contact(portal_a)
    send = jobs.campaign_send(campaign=campaign, contacts_qs_or_ids=[contact.pk]).sends[0]
    services.send_unsubscribe(send=send)
    assert services.sends_deliver(send_ids=[send.pk]) == 0
    assert mailoutbox == []


def test_failed_delivery_releases_the_claim_so_the_retry_sends_it(campaign, portal_a, mailoutbox, settings):
    contact = make_contact(portal_a)
    send = jobs.campaign_send(campaign=campaign, contacts_qs_or_ids=[contact.pk]).sends[0]
    settings.EMAIL_BACKEND = "tests.engagement.failing_backend.FailingBackend"
    with pytest.raises(OSError):
        services.sends_deliver(send_ids=[send.pk])
    send.refresh_from_db()
    assert send.emailed_at is None
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert services.sends_deliver(send_ids=[send.pk]) == 1


REFUSING_BACKEND = "tests.engagement.failing_backend.RefusingBackend"


def _sends_in_order(campaign, *contacts):
    # One jobs.campaign_send each, so the Sends' ids (the delivery order) follow ``contacts``.
    return [jobs.campaign_send(campaign=campaign, contacts_qs_or_ids=[c.pk]).sends[0] for c in contacts]


def test_a_temporarily_refused_email_is_left_for_the_retry_without_holding_back_the_others(
    campaign, portal_a, mailoutbox, settings
):
    busy, ok = _sends_in_order(
        campaign, make_contact(portal_a, email="busy@example.org"), make_contact(portal_a, email="ok@example.org")
    )
    settings.EMAIL_BACKEND = REFUSING_BACKEND
    with pytest.raises(smtplib.SMTPRecipientsRefused):  # so that the task retries
        services.sends_deliver(send_ids=[busy.pk, ok.pk])
    assert [m.to for m in mailoutbox] == [["ok@example.org"]]
    busy.refresh_from_db()
    assert (busy.emailed_at, busy.email_failed_at, busy.email_error) == (None, None, "")


def test_a_permanently_refused_email_is_recorded_at_once_not_retried(campaign, portal_a, mailoutbox, settings):
    refused, ok = _sends_in_order(
        campaign, make_contact(portal_a, email="refused@example.org"), make_contact(portal_a, email="ok@example.org")
    )
    settings.EMAIL_BACKEND = REFUSING_BACKEND
    assert services.sends_deliver(send_ids=[refused.pk, ok.pk]) == 1  # nothing raised: no retry
    refused.refresh_from_db()
    assert refused.emailed_at is None and refused.email_failed_at is not None
    assert "550" in refused.email_error and "User unknown" in refused.email_error
    assert [m.to for m in mailoutbox] == [["ok@example.org"]]


def test_an_email_refused_on_every_attempt_is_recorded_as_failed_and_never_retried(
    campaign, portal_a, mailoutbox, settings, eager_retries
):
    refused, ok = _sends_in_order(
        campaign, make_contact(portal_a, email="busy@example.org"), make_contact(portal_a, email="ok@example.org")
    )
    settings.EMAIL_BACKEND = REFUSING_BACKEND
    result = deliver_sends.delay([refused.pk, ok.pk])  # the task and its 5 retries run here
    assert result.successful() and result.result == 0  # the last attempt gave up without an error
    refused.refresh_from_db()
    ok.refresh_from_db()
    assert refused.emailed_at is None and refused.email_failed_at is not None
    assert refused.email_error.startswith("SMTPRecipientsRefused:") and "Try again later" in refused.email_error
    assert ok.emailed_at is not None and ok.email_failed_at is None
    assert [m.to for m in mailoutbox] == [["ok@example.org"]]  # once, although the task ran six times
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert services.sends_deliver(send_ids=[refused.pk]) == 0  # a redelivered task leaves it alone
    assert len(mailoutbox) == 1


def test_an_email_no_retry_can_help_is_recorded_as_failed_at_once(campaign, portal_a, mailoutbox, settings):
    broken, ok = _sends_in_order(
        campaign, make_contact(portal_a, email="broken@example.org"), make_contact(portal_a, email="ok@example.org")
    )
    settings.EMAIL_BACKEND = REFUSING_BACKEND
    assert services.sends_deliver(send_ids=[broken.pk, ok.pk]) == 1  # nothing raised: no retry
    broken.refresh_from_db()
    assert broken.emailed_at is None and broken.email_failed_at is not None
    assert broken.email_error.startswith("ValueError: Header values can't contain newlines")
    assert [m.to for m in mailoutbox] == [["ok@example.org"]]


def test_sending_again_at_the_same_time_reuses_the_sends_and_ignores_other_portals(campaign, portal_a, portal_b):
    mine, theirs = make_contact(portal_a), make_contact(portal_b)
    at = timezone.now()
    first = jobs.campaign_send(campaign=campaign, contacts_qs_or_ids=[mine.pk, theirs.pk], sent_at=at)
    second = jobs.campaign_send(campaign=campaign, contacts_qs_or_ids=[mine.pk], sent_at=at)
    assert first.created == 1 and second.created == 0
    assert [s.pk for s in second.sends] == [s.pk for s in first.sends]
    assert Send.objects.filter(contact=theirs).count() == 0


def test_send_tokens_are_unique_and_unguessable(campaign, portal_a):
    contacts = [make_contact(portal_a) for _ in range(20)]
    sends = jobs.campaign_send(campaign=campaign, contacts_qs_or_ids=[c.pk for c in contacts]).sends
    tokens = {s.token for s in sends}
    assert len(tokens) == 20 and all(len(t) >= 32 for t in tokens)
