"""Integrations & APIs: the overview page, one card per integration (Salesforce; API keys and
webhooks), each with its status and a link to its own pages."""

from django.db.models import Count, Max
from django.shortcuts import render

from engagement.models import ApiKey
from thankview.tenancy import portal_view

from .. import selectors
from ..status import sync_status


@portal_view
def integrations_hub(request):
    portal = request.portal
    connection = selectors.connection_for(portal)
    api_keys = ApiKey.objects.filter(portal=portal, revoked_at__isnull=True).aggregate(
        active=Count("id"), last_used=Max("last_used_at")
    )
    context = {
        "connection": connection,
        "sync": sync_status(portal=portal, connection=connection),
        "api_keys": api_keys,
        "is_admin": request.membership.is_admin,
    }
    return render(request, "integrations/hub.html", context)
