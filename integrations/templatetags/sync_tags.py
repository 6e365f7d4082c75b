from django import template

from ..sync_selectors import send_sync_status

register = template.Library()


@register.simple_tag
def sync_status_for(send):
    """``{% sync_status_for send as sf %}``: the send's Salesforce sync status (dict)."""
    return send_sync_status(send)
