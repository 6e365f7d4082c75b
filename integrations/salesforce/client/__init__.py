"""The one Salesforce client. Every call the product makes to a Salesforce instance goes here.

This package alone imports simple-salesforce and talks HTTP to the instance (``oauth.py``
talks to the login host); every failure it meets leaves it as one of ``errors.py``'s
classes. ``base.py`` is the chokepoint every request passes (transport, refresh-once,
retries, translation, accounting, one log line per request); ``rest.py`` and ``bulk.py``
are the calls: REST (describe, queries, ``/composite``, ``/limits``, sObject Collections)
and Bulk API 2.0 ingest.
"""

from .base import BaseClient
from .bulk import BulkCalls
from .rest import (
    COLLECTION_LIMIT,
    COMPOSITE_QUERY_LIMIT,
    MAX_GET_SOQL_BYTES,
    RecordResult,
    RestCalls,
    chunks,
)


class SalesforceClient(RestCalls, BulkCalls, BaseClient):
    """A client of one portal's connection; see the package docstring."""


__all__ = [
    "COLLECTION_LIMIT", "COMPOSITE_QUERY_LIMIT", "MAX_GET_SOQL_BYTES", "RecordResult", "SalesforceClient", "chunks",
]
