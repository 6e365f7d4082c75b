"""Salesforce template tags: ``{% load salesforce %}``."""

import math

from django import template

from ..salesforce import budget
from ..salesforce.selectors import send_sync_status

register = template.Library()


@register.simple_tag
def api_budget(connection):
    """``{% api_budget connection as b %}``: the org's daily requests (a /limits snapshot where
    the user may read it, else the last Sforce-Limit-Info figure), the portal cap and its use."""
    if connection is None:
        return None
    limits = connection.api_limits or {}
    daily = budget.daily_requests(limits)
    from_header = daily is None
    if from_header:
        daily = budget.usage_figures(budget.last_known_usage(connection))
    bulk = limits.get("DailyBulkApiRequests") or {}
    out = {
        "limits_at": None if from_header else connection.api_limits_at,
        "daily_max": daily[0] if daily else None,
        "daily_remaining": daily[1] if daily else None,
        "bulk_max": bulk.get("Max"),
        "bulk_remaining": bulk.get("Remaining"),
        "cap_percent": connection.api_cap_percent,
        "used_24h": budget.portal_calls_last_24h(portal_id=connection.portal_id),
    }
    maximum = out["daily_max"] or connection.api_usage_max
    out["cap_calls"] = math.floor(maximum * connection.api_cap_percent / 100) if maximum else None
    return out


@register.simple_tag
def sync_status_for(send):
    """``{% sync_status_for send as sf %}``: the send's Salesforce sync status (dict)."""
    return send_sync_status(send)
