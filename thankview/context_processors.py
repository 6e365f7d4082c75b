from .models import Membership


def portals(request):
    """The portals the user belongs to, for the navigation's portal switcher."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    memberships = list(Membership.objects.filter(user=user).select_related("portal").order_by("portal__name"))
    return {
        "user_memberships": memberships,
        "current_portal": getattr(request, "portal", None),
        "current_membership": getattr(request, "membership", None),
    }
