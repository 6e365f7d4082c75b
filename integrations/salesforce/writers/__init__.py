"""The writers of a sync run: sObject Collections (``collections.py``) and Bulk API 2.0
(``bulk.py``, its jobs in ``bulk_jobs.py``), both implementing ``base.Writer``, the one
interface ``run.py`` drives. A new writer subclasses ``Writer`` and answers a
``BatchResult`` per ``Batch``; ``run._sync`` chooses it.
"""

from .base import Batch, BatchResult, WriteItem, WriteOutcome, Writer

__all__ = ["Batch", "BatchResult", "WriteItem", "WriteOutcome", "Writer"]
