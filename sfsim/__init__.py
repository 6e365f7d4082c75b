"""sfsim: a local Salesforce simulator for development and tests.

A real HTTPS server speaking the subset of Salesforce the portal uses (OAuth web-server flow,
REST query/describe/sObjects/Collections/Composite, Bulk API 2.0), built to
``docs/salesforce-behaviour.md`` so unmodified clients (simple-salesforce in direct
mode) work against it. Run ``python -m sfsim`` or, in tests, ``sfsim.server.start()``; drive
it with ``sfsim.control.SimControl``.
"""

DEFAULT_CLIENT_ID = "sfsim-client-id"
DEFAULT_CLIENT_SECRET = "sfsim-client-secret"
