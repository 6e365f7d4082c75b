"""Request and response values passed between the HTTP layer and the API modules."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from .errors import ApiError, json_parser_error

JSON_TYPE = "application/json;charset=UTF-8"


@dataclass
class Request:
    method: str
    path: str  # percent-encoded, without the query string
    query: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names
    body: bytes = b""

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def form(self) -> dict[str, str]:
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[0] for k, v in parsed.items()}

    def text(self) -> str:
        return self.body.decode("utf-8-sig", "replace")

    def json(self) -> Any:
        """Parsed JSON body; malformed JSON is Salesforce's 400 JSON_PARSER_ERROR."""
        try:
            return json.loads(self.body.decode("utf-8") or "null")
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            line, col = getattr(e, "lineno", 1), getattr(e, "colno", 1)
            raise json_parser_error(f"Unexpected character: was expecting JSON at [line:{line}, column:{col}]") from None

    def json_object(self) -> dict:
        body = self.json()
        if not isinstance(body, dict):
            raise json_parser_error("Cannot deserialize instance of SObject from non-object value at [line:1, column:1]")
        return body


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the socket without answering (fault drop_after_commit)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Response(status, body, {"Content-Type": JSON_TYPE, **(headers or {})})


def error_response(err: ApiError) -> Response:
    return json_response(err.status, err.body())


def text_response(status: int, text: str, content_type: str = "text/plain;charset=UTF-8") -> Response:
    return Response(status, text.encode(), {"Content-Type": content_type})


def html_page(status: int, title: str, body_html: str) -> Response:
    page = (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:36rem;margin:3rem auto;color:#16325c}"
        "button{font-size:1rem;padding:.5rem 1.5rem;margin-right:1rem}</style></head>"
        f"<body>{body_html}</body></html>"
    )
    return text_response(status, page, "text/html;charset=UTF-8")


def redirect(location: str) -> Response:
    return Response(302, b"", {"Location": location})
