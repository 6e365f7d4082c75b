import smtplib

from django.core.mail.backends import locmem
from django.core.mail.backends.base import BaseEmailBackend


class FailingBackend(BaseEmailBackend):
    """An email backend whose server is down."""

    def send_messages(self, email_messages):
        raise OSError("connection refused")


class RefusingBackend(locmem.EmailBackend):
    """A mail server that delivers most emails (to the locmem outbox, as in the other tests)
    but refuses some recipients for good:

    - ``busy…@`` addresses: an SMTP 451 "try again later", a temporary refusal the delivery
      task retries;
    - ``refused…@`` addresses: an SMTP 550 "user unknown", a permanent refusal;
    - ``broken…@`` addresses: a ``ValueError``, as a malformed header would raise, which no
      retry can help.
    """

    def send_messages(self, email_messages):
        for message in email_messages:
            to = message.to[0]
            if to.startswith("busy"):
                raise smtplib.SMTPRecipientsRefused({to: (451, b"4.3.2 Try again later")})
            if to.startswith("refused"):
                raise smtplib.SMTPRecipientsRefused({to: (550, b"5.1.1 User unknown")})
            if to.startswith("broken"):
                raise ValueError(f"Header values can't contain newlines (got {to!r})")
        return super().send_messages(email_messages)
