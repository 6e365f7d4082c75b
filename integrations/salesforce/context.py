"""What one sync run knows while it runs: the context ``run.py`` builds and hands to every step.

The steps (``batch``, ``dedupe``, ``records``, the writers) read it and never keep it: the
connection and its client, the ``SyncRun`` being recorded, the cut-off, what the pre-flight
read from describe, and the run's API budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ..models import SalesforceConnection, SyncRun
from .client import SalesforceClient
from .matching import MatchConfig


@dataclass
class RunContext:
    conn: SalesforceConnection
    client: SalesforceClient
    run: SyncRun
    cutoff: datetime
    now: datetime
    # Filled by the pre-flight (run.py) from the describe of ThankView__c:
    schema: dict = field(default_factory=dict)
    mappings: list = field(default_factory=list)
    field_types: dict = field(default_factory=dict)
    field_infos: dict = field(default_factory=dict)  # describe fields by lower-cased name (values.py)
    external_id: str | None = None  # "Send_Id__c" when that External ID exists (dedupe.py)
    match_config: MatchConfig = field(default_factory=MatchConfig)
    # Caches of the run: a send's landing-page URL template (batch.MappedSend), campaigns by id.
    landing_template: str | None = None
    campaigns: dict = field(default_factory=dict)
    # The run's budget.RunBudget from the Sforce-Limit-Info figures (None = unknown: no limit applied).
    budget: Any = None
    # Set when a query FROM Lead answered that the user cannot read Leads (errors.ObjectNotReadable):
    # the run goes on matching Contacts only, and ends with the permissions banner.
    lead_access_error: Any = None

    def leads_unreadable(self, error) -> None:
        self.lead_access_error = error
        self.match_config = replace(self.match_config, leads=False)

    @property
    def org_id(self) -> str:
        return self.conn.org_id

    @property
    def portal(self):
        return self.conn.portal

    @property
    def lookup_field(self) -> str:
        return self.conn.contact_lookup_field or "Contact__c"

    def spend_check(self, need: int | None = None) -> None:
        """Stop (``budget.BudgetReached``) unless ``need`` more calls fit in the run's budget
        (by default what one batch may take, ``budget.BATCH_CALL_ALLOWANCE``)."""
        if self.budget is not None:
            self.budget.check(self.client.api_calls, need, usage=self.client.api_usage)
