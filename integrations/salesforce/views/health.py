"""The sync health page and its re-sync progress JSON.

Read-only, for every member; there is no "sync now" button anywhere (the guide: "There is
no manual “sync now” button"). Portal-scoped like every portal page: another portal's data
is never read, and a non-member gets 404 from ``portal_view``.
"""

from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from thankview.tenancy import portal_view

from .. import selectors


@portal_view
def sync_health(request):
    context = selectors.health_context(
        portal=request.portal,
        connection=selectors.connection_for(request.portal),
        reason=request.GET.get("reason", ""),
        page_number=request.GET.get("page"),
    )
    context["is_admin"] = request.membership.is_admin
    return render(request, "integrations/salesforce_sync_health.html", context)


@portal_view
@require_GET
@never_cache
def resync_progress(request):
    return JsonResponse(selectors.resync_status_for(request.portal))
