"""Django admin for ThankView support: one page per portal's integration, and every support
action behind a confirmation page.

- ``connection.py``: the Salesforce connections. The change page is the portal's integration
  at a glance (``salesforce.overview``), read-only; its buttons are the actions below.
- ``actions.py``: "Enable sync", "Pause sync", "Change API cap", "Change contact object",
  "Disconnect". Each asks first (naming the portals and what will happen), then calls the
  service in ``salesforce.support``, which writes the portal's sync history line and the
  admin's ``LogEntry``. ``manage.py salesforce`` is each one's twin.
- ``resync.py``: "Re-sync selected campaigns" on the campaign list, with the API-call estimate.
- ``sync.py``: the runs, the per-send records, Bulk jobs, mappings, re-sync requests and the
  support history, with filters and search; read-only where the sync is the only writer.

Only active ``is_staff`` users reach any of it (Django admin's own check, on every view and
action, through the site's login).
"""

from . import connection, resync, sync  # noqa: F401 (each registers its admin classes)
