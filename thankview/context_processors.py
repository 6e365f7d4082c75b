from .models import Membership

# The navigation of the site frame (templates/base.html): which item a page belongs to, by
# the page's URL name, so exactly one item is current. API keys and webhooks live under
# Integrations & APIs; Sync health is its own item.
NAV_BY_VIEW = {"integrations:sync_health": "sync"}
NAV_BY_URL_PREFIX = (("engagement:apikey", "integrations"), ("engagement:bounce_secret", "integrations"))
NAV_BY_NAMESPACE = {"contacts": "contacts", "engagement": "campaigns", "integrations": "integrations"}


def portals(request):
    """The portals the user belongs to, for the navigation's portal switcher, and the
    navigation item of the current page."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    memberships = list(Membership.objects.filter(user=user).select_related("portal").order_by("portal__name"))
    return {
        "user_memberships": memberships,
        "current_portal": getattr(request, "portal", None),
        "current_membership": getattr(request, "membership", None),
        "nav_current": nav_item_of(getattr(request, "resolver_match", None)),
    }


def nav_item_of(match) -> str:
    """"contacts", "campaigns", "integrations", "sync" or "" for a resolved URL."""
    if match is None:
        return ""
    if match.view_name in NAV_BY_VIEW:
        return NAV_BY_VIEW[match.view_name]
    for prefix, item in NAV_BY_URL_PREFIX:
        if match.view_name.startswith(prefix):
            return item
    return NAV_BY_NAMESPACE.get(match.namespace, "")
