"""Bulk API 2.0 ingest calls of the client (reference §2.9): raw requests through the
client's session, inside ``BaseClient._call``, so refresh-once, retries, translation of
failures, call counting and the log line apply as for every other call. The Bulk writer
(``writers/bulk.py``) builds the CSV and reads the results.
"""

from __future__ import annotations

from .base import raise_for_answer


class BulkCalls:
    """The Bulk API 2.0 ingest surface (a mixin of ``SalesforceClient``; needs ``BaseClient``)."""

    def _bulk(self, sf, method: str, path: str, *, expect=(200,), headers=None, **kwargs):
        all_headers = {**sf.headers, **(headers or {})}
        resp = self._session.request(
            method, f"{sf.base_url}jobs/ingest/{path}", headers=all_headers, timeout=self.timeout, **kwargs
        )
        if resp.status_code not in expect:
            try:
                content = resp.json()
            except ValueError:
                content = resp.text
            raise_for_answer(resp.status_code, content)
        return resp

    def bulk_job_create(self, sobject: str, operation: str, *, external_id: str | None = None) -> dict:
        """``POST jobs/ingest``: an Open CSV job (LF, comma). Retried freely: a lost answer
        leaves at most an empty Open job, which Salesforce deletes after 7 days."""
        body = {"object": sobject, "operation": operation, "contentType": "CSV", "lineEnding": "LF", "columnDelimiter": "COMMA"}
        if external_id:
            body["externalIdFieldName"] = external_id
        return self._call(lambda sf: self._bulk(sf, "POST", "", json=body).json())

    def bulk_job_upload(self, job_id: str, csv_file) -> None:
        """``PUT jobs/ingest/{id}/batches`` with the CSV (a binary file, streamed): 201.

        Not idempotent: a second upload after an unknown outcome would add the rows twice,
        so it is retried only when the request surely never reached Salesforce."""

        def put(sf):
            csv_file.seek(0)
            self._bulk(sf, "PUT", f"{job_id}/batches", expect=(201,), headers={"Content-Type": "text/csv"}, data=csv_file)

        self._call(put, idempotent=False)

    def bulk_job_close(self, job_id: str) -> dict:
        """``PATCH jobs/ingest/{id}`` ``{"state": "UploadComplete"}``: Salesforce starts processing."""
        return self._call(
            lambda sf: self._bulk(sf, "PATCH", job_id, json={"state": "UploadComplete"}).json(), idempotent=False
        )

    def bulk_job_abort(self, job_id: str) -> dict:
        return self._call(lambda sf: self._bulk(sf, "PATCH", job_id, json={"state": "Aborted"}).json())

    def bulk_job_info(self, job_id: str) -> dict:
        """``GET jobs/ingest/{id}``: state, numberRecordsProcessed/Failed, errorMessage."""
        return self._call(lambda sf: self._bulk(sf, "GET", job_id).json())

    def bulk_job_results(self, job_id: str, kind: str, dest) -> None:
        """Stream ``successfulResults`` / ``failedResults`` / ``unprocessedrecords`` (CSV) into
        the binary file ``dest`` (rewritten on a retry), never holding it all in memory."""
        if kind not in ("successfulResults", "failedResults", "unprocessedrecords"):
            raise ValueError(kind)

        def get(sf):
            dest.seek(0)
            dest.truncate()
            resp = self._bulk(sf, "GET", f"{job_id}/{kind}/", stream=True, headers={"Accept": "text/csv"})
            with resp:
                for chunk in resp.iter_content(chunk_size=256 * 1024):
                    dest.write(chunk)
            dest.flush()

        self._call(get)
