"""The sObject Collections writer: up to 200 records per call, ``allOrNone=false``.

The default writer of a run (``run.py`` switches to Bulk API 2.0 above
``SALESFORCE_BULK_THRESHOLD`` due sends), and the one the Bulk writer hands its few
leftovers to.
"""

from __future__ import annotations

from ..client import SalesforceClient, chunks
from ..context import RunContext
from ..errors import SalesforceError, record_gone
from ..schema import OBJECT
from .base import Batch, BatchResult, WriteItem, WriteOutcome, Writer


class CollectionsWriter(Writer):
    def write(self, ctx: RunContext, batch: Batch) -> BatchResult:
        return write_batch(ctx.client, batch.items, external_id=ctx.external_id, before_create=batch.mark_attempts,
                           lookups=(ctx.lookup_field, "Lead__c"))


def write_batch(client: SalesforceClient, items: list[WriteItem], *, external_id: str | None, before_create=None,
                sobject: str = OBJECT, lookups=()) -> BatchResult:
    """Write ``items`` with sObject Collections; one ``WriteOutcome`` per item written.

    1. Items with a record id → ``collection_update`` (by id, ≤ 200 per call).
       An update refused because the record is gone (deleted in Salesforce) → create again;
       not when the update also set one of ``lookups`` and the refusal may be about its target.
    2. Items without one → ``collection_upsert`` by ``external_id`` when given (idempotent,
       safe to retry), else ``before_create(items)`` (persist attempt markers) and then
       ``collection_create``.
    3. A whole-call failure stops the step: ``BatchResult.error`` is set and the items not yet
       answered have no outcome (the caller leaves them due).
    """
    result = BatchResult()
    creates = [i for i in items if not i.record_id]
    try:
        creates += _update(client, [i for i in items if i.record_id], result, sobject=sobject, lookups=lookups)
        _create(client, creates, result, external_id=external_id, before_create=before_create, sobject=sobject)
    except SalesforceError as e:
        result.error = e
    return result


def _update(client: SalesforceClient, updates: list[WriteItem], result: BatchResult, *, sobject: str,
            lookups=()) -> list[WriteItem]:
    """Step 1; returns the items to create again (their record is gone)."""
    again = []
    for chunk in chunks(updates):
        answers = client.collection_update([{"id": i.record_id, **i.values} for i in chunk], sobject=sobject)
        for item, res in zip(chunk, answers):
            if res.ok:
                result.outcomes[item.send_id] = WriteOutcome(item.send_id, True, res.id or item.record_id)
            elif record_gone(res.errors, relinked=any(f in item.values for f in lookups)):
                again.append(WriteItem(item.send_id, item.values, record_id=""))
            else:
                result.outcomes[item.send_id] = WriteOutcome(item.send_id, False, item.record_id, error=res.errors[0])
    return again


def _create(client: SalesforceClient, creates: list[WriteItem], result: BatchResult, *, external_id: str | None,
            before_create, sobject: str) -> None:
    """Step 2."""
    for chunk in chunks(creates):
        if external_id:
            answers = client.collection_upsert(sobject, external_id, [i.values for i in chunk])
        else:
            if before_create:
                before_create(chunk)
            answers = client.collection_create([i.values for i in chunk], sobject=sobject)
        for item, res in zip(chunk, answers):
            if res.ok:
                created = True if res.created is None else bool(res.created)
                result.outcomes[item.send_id] = WriteOutcome(item.send_id, True, res.id or "", created=created)
            else:
                result.outcomes[item.send_id] = WriteOutcome(item.send_id, False, "", error=res.errors[0])
