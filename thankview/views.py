from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.views.decorators.http import require_http_methods

from . import branding
from .forms import PortalBrandingForm
from .models import Membership, Portal
from .tenancy import portal_view

BRAND_CACHE = "public, max-age=86400"  # the URLs carry branding_version, so a change is a new URL


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


@portal_view(admin_only=True)
def portal_settings(request):
    """The portal's branding on recipients' pages: logo and accent colour."""
    portal = request.portal
    initial = {"accent_color": portal.accent_color}
    form = PortalBrandingForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        branding.portal_branding_update(
            portal=portal,
            accent_color=form.cleaned_data["accent_color"],
            logo=form.cleaned_data["logo"] or None,
            logo_ext=getattr(form, "logo_ext", None),
            remove_logo=form.cleaned_data["remove_logo"],
        )
        messages.success(request, "Branding saved. Recipients’ pages show it from now on.")
        return redirect("portal_settings", portal_slug=portal.slug)
    return render(request, "thankview/portal_settings.html", {"form": form}, status=400 if form.errors else 200)


@require_http_methods(["GET", "HEAD"])
def brand_logo(request, portal_id):
    """A portal's logo, public (recipients see it); served with the type it was checked as."""
    portal = get_object_or_404(Portal, pk=portal_id)
    if not portal.logo:
        raise Http404("No logo.")
    ext = portal.logo.name.rsplit(".", 1)[-1]
    try:
        handle = portal.logo.open("rb")
    except FileNotFoundError:
        raise Http404("No logo.") from None
    response = FileResponse(handle, content_type=branding.LOGO_CONTENT_TYPES.get(ext, "application/octet-stream"))
    response["Cache-Control"] = BRAND_CACHE
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_http_methods(["GET", "HEAD"])
def brand_theme(request, portal_id):
    """The portal's accent colour as a stylesheet, so recipients' pages need no inline style."""
    portal = get_object_or_404(Portal, pk=portal_id)
    css = ""
    if portal.accent_color:
        css = (
            f":root {{ --accent: {portal.accent_color}; "
            f"--accent-fg: {branding.accent_text_color(portal.accent_color)}; }}\n"
        )
    response = HttpResponse(css, content_type="text/css; charset=utf-8")
    response["Cache-Control"] = BRAND_CACHE
    return response


def favicon(request):
    """Browsers ask for /favicon.ico whatever the page links; send them to the SVG icon
    (resolved per request: the hashed name exists only after collectstatic)."""
    return redirect(static("favicon.svg"), permanent=True)
