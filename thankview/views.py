from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.templatetags.static import static

from .models import Membership
from .tenancy import portal_view


@login_required
def home(request):
    """Send the user to their portal, or let them choose when they have several."""
    memberships = list(Membership.objects.filter(user=request.user).select_related("portal"))
    if len(memberships) == 1:
        return redirect("portal_home", portal_slug=memberships[0].portal.slug)
    return render(request, "thankview/home.html", {"memberships": memberships})


@portal_view
def portal_home(request):
    return redirect("contacts:list", portal_slug=request.portal.slug)


def favicon(request):
    """Browsers ask for /favicon.ico whatever the page links; send them to the SVG icon
    (resolved per request: the hashed name exists only after collectstatic)."""
    return redirect(static("favicon.svg"), permanent=True)
