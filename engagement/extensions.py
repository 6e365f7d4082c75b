"""Extension points of the engagement app, filled by higher apps from ``AppConfig.ready()``.

Engagement sits below integrations, so it never imports it. A higher app that knows more
about a send (the Salesforce sync: is it in the org yet, under which record) registers a
status provider here; the send page shows its panel and ``GET /api/v1/sends/{id}`` its
dict. With nothing registered the page shows no panel and the API field is null.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

GENERIC_TEMPLATE = "engagement/_send_status.html"


@dataclass(frozen=True)
class SendStatusProvider:
    """``status(send)`` returns a JSON-able dict with at least ``status`` and ``label``.

    ``key`` is the field of the API's send answer that carries the dict (it is part of the
    API schema). The send page includes ``template`` with ``send`` and ``panel`` (a
    ``SendStatusPanel``) in its context, or the generic panel when there is none.
    """

    key: str
    title: str
    status: Callable
    template: str = ""


class SendStatusPanel:
    """One provider's panel on the send page. The status is computed the first time the
    template reads it, so a template that computes its own costs nothing extra."""

    def __init__(self, provider, send):
        self.provider = provider
        self.send = send
        self.key = provider.key
        self.title = provider.title
        self.template = provider.template or GENERIC_TEMPLATE

    @cached_property
    def status(self):
        return self.provider.status(self.send)


_providers: dict[str, SendStatusProvider] = {}


def send_status_provider_register(provider):
    """Add ``provider`` to the send page and API (registering a key again replaces it)."""
    _providers[provider.key] = provider


def send_status(send, *, key):
    """The status dict of the provider registered under ``key``, or None if there is none."""
    provider = _providers.get(key)
    return provider.status(send) if provider is not None else None


def send_status_panels(send):
    """The send page's panels, in the order their providers were registered."""
    return [SendStatusPanel(provider, send) for provider in _providers.values()]
