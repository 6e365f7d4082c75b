"""Portal-scoped view helpers.

Every portal page lives under ``/<portal_slug>/``. ``portal_view`` resolves the slug to a
Portal the signed-in user belongs to and sets ``request.portal`` and
``request.membership``; anyone else gets a 404, so a portal's existence never leaks.
Views then scope every query with ``request.portal``.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from .models import Membership


def get_membership(user, portal_slug):
    """The user's membership of the portal with this slug, or Http404."""
    if not user.is_authenticated:
        raise Http404
    membership = (
        Membership.objects.select_related("portal").filter(user=user, portal__slug=portal_slug).first()
    )
    if membership is None:
        raise Http404("No such portal.")
    return membership


def portal_view(view=None, *, admin_only=False):
    """Decorate a view taking ``portal_slug``; ``admin_only`` refuses staff members (403)."""

    def decorator(func):
        @login_required
        @wraps(func)
        def wrapper(request, portal_slug, *args, **kwargs):
            membership = get_membership(request.user, portal_slug)
            if admin_only and not membership.is_admin:
                raise PermissionDenied("Only portal admins can do this.")
            request.portal = membership.portal
            request.membership = membership
            # Pages show dates in the portal's time zone (thankview.dates formats them).
            with timezone.override(membership.portal.tzinfo):
                return func(request, *args, **kwargs)

        wrapper.admin_only = admin_only
        return wrapper

    return decorator(view) if view is not None else decorator
