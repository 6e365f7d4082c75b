"""Emailing sends: claiming each send, building its email, recording what the mail server
said (delivered, refused for good, or worth a retry)."""

import logging
import smtplib

from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.utils import timezone

from ..models import Send
from .validation import storable

logger = logging.getLogger(__name__)

# Delivery errors a retry can help with: the mail server or the network is down or busy
# (smtplib's errors, ConnectionError and TimeoutError are all OSErrors). Any other error
# (a malformed address or header, a template that does not render) fails the same way again.
DELIVERY_TRANSIENT = (smtplib.SMTPException, ConnectionError, TimeoutError, OSError)


def _smtp_refused_for_good(error):
    """True for an SMTP 5yz reply: RFC 5321 §4.2.1 makes it a permanent failure, so the
    same message to the same address fails again (e.g. 550 user unknown); 4yz is a
    temporary one worth retrying (e.g. 451 try again later)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return bool(error.recipients) and all(code >= 500 for code, _ in error.recipients.values())
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500


def sends_deliver(*, send_ids, final_attempt=False):
    """Email each send not yet emailed; returns how many were emailed.

    1. Sends already emailed, or whose delivery failed for good, are skipped, and so are
       contacts who unsubscribed or bounced since the Send was created.
    2. Each send is claimed (``emailed_at`` set) with a conditional UPDATE before its email
       is handed to the backend, so a redelivered task skips it.
    3. If the backend fails, the claim is released and the other sends are still tried.
       An error no retry can help with (an SMTP 5yz refusal, a message that cannot be
       built) is recorded on the send at once (``email_failed_at`` and ``email_error``). A transient one (``DELIVERY_TRANSIENT``)
       is raised after the other sends, so the task retries; on the task's last attempt
       (``final_attempt``) it is recorded instead, so no send waits for a retry that never
       comes and the job's progress can finish.
    """
    sends = (
        Send.objects.filter(pk__in=send_ids, emailed_at__isnull=True, email_failed_at__isnull=True)
        .select_related("campaign", "campaign__portal", "contact")
        .order_by("pk")
    )
    delivered = 0
    retry_error = None
    mail_connection = get_connection()
    for send in sends:
        if not send.contact.can_receive:
            continue
        claimed = Send.objects.filter(pk=send.pk, emailed_at__isnull=True).update(emailed_at=timezone.now())
        if not claimed:
            continue
        try:
            send_email_build(send=send, connection=mail_connection).send()
        except DELIVERY_TRANSIENT as e:
            if final_attempt or _smtp_refused_for_good(e):
                _send_delivery_failed(send=send, error=e)
            else:
                Send.objects.filter(pk=send.pk).update(emailed_at=None)
                retry_error = e
        except Exception as e:
            logger.exception("email of send %s cannot be delivered", send.pk)
            _send_delivery_failed(send=send, error=e)
        else:
            delivered += 1
    if retry_error is not None:
        raise retry_error
    return delivered


def _send_delivery_failed(*, send, error):
    """Release the claim and record that the email of ``send`` will not be delivered."""
    reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    Send.objects.filter(pk=send.pk).update(
        emailed_at=None, email_failed_at=timezone.now(), email_error=storable(reason)[:255]
    )


def send_email_build(*, send, connection=None):
    """The campaign email of one send: pixel, landing-page link, unsubscribe link and the
    RFC 8058 one-click unsubscribe headers (https://www.rfc-editor.org/rfc/rfc8058)."""
    context = {
        "send": send,
        "campaign": send.campaign,
        "portal": send.campaign.portal,
        "contact": send.contact,
        "landing_url": send.landing_url,
        "pixel_url": send.pixel_url,
        "unsubscribe_url": send.unsubscribe_url,
    }
    subject = render_to_string("engagement/email/send_subject.txt", context).strip()
    text = render_to_string("engagement/email/send_body.txt", context)
    html = render_to_string("engagement/email/send_body.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        to=[send.contact.email],
        connection=connection,
        headers={
            "List-Unsubscribe": f"<{send.unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            # Echoed back by the mail provider's bounce webhook to identify the send.
            "X-ThankView-Send": send.token,
        },
    )
    message.attach_alternative(html, "text/html")
    return message

