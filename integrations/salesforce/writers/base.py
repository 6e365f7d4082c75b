"""The interface between a run and a writer, and what passes through it.

``run.py`` drives any writer the same way:

1. it reads the due sends ``window`` at a time (and, when ``match_ahead``, matches a whole
   window in a few queries before preparing it);
2. ``batch.batch_write`` prepares them ``batch_size`` at a time and hands each ``Batch`` to
   ``write``, which answers a ``BatchResult``: one ``WriteOutcome`` per send it has written,
   and an error for a call that failed as a whole (the sends without an outcome stay due);
3. ``finish`` writes what the writer still holds (Bulk: runs its jobs and stores their
   results) and raises what should stop the run; ``close`` frees what it holds, always.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...models import SalesforceRecord
from ..context import RunContext
from ..dedupe import mark_attempts
from ..due import BATCH_SIZE
from ..errors import SalesforceError


@dataclass
class WriteItem:
    """One send's record to write: ``record_id`` set → update, else create (or upsert)."""

    send_id: int
    values: dict
    record_id: str = ""


@dataclass
class WriteOutcome:
    send_id: int
    ok: bool
    record_id: str = ""
    created: bool = False
    error: tuple[str, str, list[str]] | None = None  # (code, message, fields)


@dataclass
class BatchResult:
    outcomes: dict[int, WriteOutcome] = field(default_factory=dict)
    # A whole-call failure: the items without an outcome were not (or not surely) written.
    error: SalesforceError | None = None


@dataclass
class Batch:
    """A prepared batch: the items to write and the sends' rows (in memory)."""

    items: list[WriteItem]
    records: dict[int, SalesforceRecord]

    def mark_attempts(self, items: list[WriteItem]) -> None:
        """Commit attempt markers on these items' rows before their create call (dedupe.py)."""
        mark_attempts([self.records[i.send_id] for i in items])


class Writer:
    """What a run needs of a writer; see the module docstring."""

    window = BATCH_SIZE  # due sends read (and matched, with match_ahead) at once
    batch_size = BATCH_SIZE  # sends prepared per batch
    match_ahead = False

    def write(self, ctx: RunContext, batch: Batch) -> BatchResult:
        raise NotImplementedError

    def finish(self, ctx: RunContext) -> None:
        """Write what is still held; raise what should stop the run."""

    def close(self) -> None:
        """Free what the writer holds (files), whether the run ended well or not."""
