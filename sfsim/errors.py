"""The two error shapes of the REST API (reference §2.1, §2.7, §3.2).

- ``ApiError``: the whole request fails. Body is always a JSON *array*
  ``[{"message": ..., "errorCode": ..., "fields": [...]}]`` (``fields`` only for DML errors);
  clients index ``body[0]["errorCode"]``.
- ``DmlError``: one record of a write fails. Single-record calls turn it into an ``ApiError``
  (400, ``errorCode``); sObject Collections report it per record with ``statusCode``; Bulk
  API 2.0 writes it into ``sf__Error`` as ``CODE:message:fields --``.
"""

from __future__ import annotations


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields

    def body(self) -> list[dict]:
        err: dict = {"message": self.message, "errorCode": self.code}
        if self.fields is not None:
            err["fields"] = self.fields
        return [err]


class DmlError(Exception):
    def __init__(self, code: str, message: str, fields: list[str] | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.fields = list(fields or [])

    def collection_error(self) -> dict:
        """Per-record error of sObject Collections: note ``statusCode`` (§2.7)."""
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}

    def to_api_error(self, status: int = 400) -> ApiError:
        return ApiError(status, self.code, self.message, self.fields)

    def bulk_error(self) -> str:
        """``sf__Error`` cell of Bulk API 2.0 failed results (§2.9).

        Real result files read ``REQUIRED_FIELD_MISSING:Required fields are missing:
        [LastName]:LastName --``: code, message, then the fields and `` --``; with no fields
        the cell ends in ``:--``.
        """
        if self.fields:
            return f"{self.code}:{self.message}:{','.join(self.fields)} --"
        return f"{self.code}:{self.message}:--"


def not_found() -> ApiError:
    return ApiError(404, "NOT_FOUND", "The requested resource does not exist")


def invalid_session() -> ApiError:
    """401 without ``fields`` (§3.2); simple-salesforce raises SalesforceExpiredSession."""
    return ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")


def json_parser_error(message: str) -> ApiError:
    return ApiError(400, "JSON_PARSER_ERROR", message)
