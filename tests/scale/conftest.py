"""Scale fixtures: the sync fixtures (a portal connected to sfsim over HTTPS, sends,
events) plus a second simulator org. Everything talks to real sfsim servers."""

from tests.integrations.conftest import (  # noqa: F401  (re-exported fixtures)
    connected_portal_a,
    sandbox_settings,
    sf_authorize,
    sf_connect,
    sf_settings,
    sf_start,
    sfsim,
    sfsim_sandbox,
    sim,
    sim_sandbox,
)
from tests.sync.conftest import add_event, campaign_a, make_send, record_of, run_sync, sync_conn  # noqa: F401


def connect_directly(control, portal, *, enabled_days_ago=1, instance_url=None):
    """A portal connected to the simulator's org with a real token from its OAuth flow
    (``SimControl.connect``), sync enabled; no browser round trip (many portals at once)."""
    from datetime import timedelta

    from django.utils import timezone

    from integrations.models import SalesforceConnection
    from integrations.salesforce import oauth

    token = control.connect()
    org_id, user_id = oauth.ids_from_identity_url(token["id"])
    conn = SalesforceConnection(
        portal=portal, status="connected", login_url=control.url, instance_url=instance_url or token["instance_url"],
        org_id=org_id, user_id=user_id, sync_enabled=True,
        sync_enabled_at=timezone.now() - timedelta(days=enabled_days_ago),
    )
    conn.access_token = token["access_token"]
    conn.refresh_token = token["refresh_token"]
    conn.save()
    return conn
