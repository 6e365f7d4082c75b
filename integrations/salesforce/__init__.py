"""The Salesforce integration: client, errors, OAuth, schema check, field mappings.

Only ``client.py`` talks to Salesforce's REST API (through simple-salesforce) and only
``oauth.py`` talks to its OAuth endpoints (through Authlib); everything else sees our own
exception classes from ``errors.py``.
"""
