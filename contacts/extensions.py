"""Extension points of the contacts app, filled by higher apps from ``AppConfig.ready()``.

Contacts sit below engagement and integrations, so they never import them. Where the
contacts pages must offer something only a higher app knows (the Salesforce sync's
"No Salesforce match" filter), that app registers it here. With nothing registered the
contacts pages simply do not offer it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ContactListFilter:
    """An extra choice in the contacts list's "Show" menu.

    ``apply(portal, queryset)`` narrows the portal's contacts queryset; the texts complete
    the list page's sentences: "Showing 1–50 {caption}", "No contacts match … among those
    {caption}.", and ``empty`` when the filter alone finds nobody. ``help`` is shown above
    the list while the filter is on.
    """

    slug: str  # the ``?filter=`` value; links from other pages use it
    label: str
    apply: Callable
    caption: str
    empty: str
    help: str = ""


_list_filters: dict[str, ContactListFilter] = {}


def contact_list_filter_register(list_filter):
    """Offer ``list_filter`` on the contacts list (registering a slug again replaces it)."""
    _list_filters[list_filter.slug] = list_filter


def contact_list_filters():
    """The registered filters, in the order they were registered."""
    return list(_list_filters.values())


def contact_list_filter_get(slug):
    """The registered filter with this slug, or None."""
    return _list_filters.get(slug)
