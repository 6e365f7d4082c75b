"""The integration's data, one module per concept; Django finds every model here."""

from .bulk_job import BulkJob
from .connection import SalesforceConnection
from .mapping import FieldMapping
from .record import SalesforceRecord
from .resync import ResyncRequest
from .run import SyncRun
from .support_event import SupportEvent

__all__ = ["BulkJob", "FieldMapping", "ResyncRequest", "SalesforceConnection", "SalesforceRecord", "SupportEvent", "SyncRun"]
