"""Scale fixtures (issue 6): the sync fixtures (a portal connected to sfsim over HTTPS, sends,
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
