"""The engagement state of one send: a pure function of its events.

This is what the Salesforce sync writes into ``ThankView__c`` and what the portal pages
show, so the rules live here once:

1. Events received after ``cutoff`` (by ``received_at``, the server's clock) are ignored;
   the sync passes its cut-off so that a record reflects a settled moment.
2. An event delivered twice (same type, ``occurred_at`` and data) counts once.
3. Each boolean is true when at least one event of that type exists.
4. ``opened`` is also true when any later step proves the email was opened (a click, a
   watch, the CTA, a download, a share, a reply), because image blocking often hides the
   pixel. ``started_watching`` is also true when ``finished_watching`` is.
5. ``views`` is the number of (distinct) ``started_watching`` events.
6. ``text_reply`` / ``video_reply`` are the latest replies (by ``occurred_at``; ties broken
   by ``received_at`` and then the content, so the result never depends on input order).
   ``text_reply_255`` is the text cut to the 255 characters of Salesforce ``Text_Reply__c``.
7. ``last_activity_at`` is the latest ``occurred_at``.

The result does not depend on the order of the events (a Hypothesis test checks it).
"""

import json
from dataclasses import dataclass
from datetime import datetime

SALESFORCE_TEXT_LIMIT = 255

# Every step after the email is opened; seeing any of them proves the open (the campaign
# totals in engagement.selectors count opens by the same set).
IMPLIES_OPENED = frozenset(
    {
        "clicked",
        "started_watching",
        "finished_watching",
        "cta_clicked",
        "downloaded",
        "shared",
        "text_reply",
        "video_reply",
    }
)
_FLAGS = (
    "opened",
    "clicked",
    "started_watching",
    "finished_watching",
    "cta_clicked",
    "downloaded",
    "shared",
    "bounced",
    "unsubscribed",
)


@dataclass(frozen=True)
class SendState:
    opened: bool = False
    clicked: bool = False
    started_watching: bool = False
    finished_watching: bool = False
    cta_clicked: bool = False
    downloaded: bool = False
    shared: bool = False
    bounced: bool = False
    unsubscribed: bool = False
    views: int = 0
    text_reply: str | None = None
    video_reply: str | None = None
    last_activity_at: datetime | None = None

    @property
    def text_reply_255(self):
        """The latest text reply as Salesforce ``Text_Reply__c`` (Text 255) can hold it."""
        if self.text_reply is None:
            return None
        return self.text_reply[:SALESFORCE_TEXT_LIMIT]

    def as_dict(self):
        return {
            **{flag: getattr(self, flag) for flag in _FLAGS},
            "views": self.views,
            "text_reply": self.text_reply,
            "text_reply_255": self.text_reply_255,
            "video_reply": self.video_reply,
            "last_activity_at": self.last_activity_at,
        }


def _data_key(data):
    # Canonical form so that {"a": 1, "b": 2} and {"b": 2, "a": 1} are the same delivery.
    return json.dumps(data if data is not None else {}, sort_keys=True, default=str)


def send_state(events, *, cutoff=None):
    """Compute a SendState from event-like objects (``.type``, ``.occurred_at``,
    ``.received_at``, ``.data``); see the module docstring for the rules."""
    seen = {}
    for event in events:
        if cutoff is not None and event.received_at > cutoff:
            continue
        key = (event.type, event.occurred_at, _data_key(event.data))
        # Keep the earliest receipt of a duplicate so the choice is order-independent.
        if key not in seen or event.received_at < seen[key].received_at:
            seen[key] = event
    unique = list(seen.values())
    if not unique:
        return SendState()

    types = {e.type for e in unique}
    flags = {flag: flag in types for flag in _FLAGS}
    flags["opened"] = flags["opened"] or bool(types & IMPLIES_OPENED)
    flags["started_watching"] = flags["started_watching"] or flags["finished_watching"]

    return SendState(
        **flags,
        views=sum(1 for e in unique if e.type == "started_watching"),
        text_reply=_latest(unique, "text_reply", "text"),
        video_reply=_latest(unique, "video_reply", "url"),
        last_activity_at=max(e.occurred_at for e in unique),
    )


def _latest(events, type_, field):
    candidates = [
        (e.occurred_at, e.received_at, str((e.data or {}).get(field) or ""))
        for e in events
        if e.type == type_ and (e.data or {}).get(field)
    ]
    if not candidates:
        return None
    return max(candidates)[2]
