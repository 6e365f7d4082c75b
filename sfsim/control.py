"""Control API of the simulator (``/_sim/...``, JSON, no auth) and its Python client.

Tests of the whole project drive the org through ``SimControl``::

    from sfsim.control import SimControl
    sim = SimControl(url, ca_path)
    sim.reset()                                   # fresh org, new org id
    [cid] = sim.seed("Contact", [{"LastName": "Doe", "Email": "jane@x.org"}])
    sim.add_field("ThankView__c", "Send_Id__c", "string", external_id=True, unique=True)
    sim.fault("expire_sessions")                  # see sfsim.faults for every kind
    sim.fault("unavailable", count=2, path="/composite/")
    token = sim.connect()                         # a real authorize + token exchange

=========================  ==========================================================
``POST /_sim/reset``       fresh org (new org id), default config + server defaults
``GET|POST /_sim/config``  read / change config (client_id, client_secret, redirect_uris,
                           query_batch_size, latency_ms, daily_api_max, bulk_delay_ms,
                           username, display_name, email, org_name, app_name, and the
                           locked-down org's switches of ``sfsim.realorg`` and
                           ``sfsim.lockdown``)
``POST /_sim/seed``        ``{"object", "records"}`` → ``{"ids"}`` (admin insert)
``GET /_sim/records``      ``?object=&include_deleted=`` → ``{"records"}``
``POST /_sim/update``      ``{"object", "id", "fields"}`` (e.g. convert a Lead)
``POST /_sim/delete``      ``{"object", "id"}`` soft delete
``POST /_sim/share``       ``{"object", "id", "hidden"}`` hide a record from the user (sharing)
``POST /_sim/add_field``   ``{"object", "name", "type", "required", "external_id", ...}``
``POST /_sim/remove_field``, ``/_sim/require_field``, ``/_sim/field_access``,
``/_sim/create_object``,
``/_sim/delete_object``
``POST /_sim/fault``       ``{"kind", "count", "path", ...opts}``; ``/_sim/clear_faults``
``GET /_sim/stats``        ``{"api_calls", "by_kind", "log"}``; ``POST /_sim/reset_stats``
``POST /_sim/limits``      ``{"used", "max"}`` daily API usage counter and maximum
=========================  ==========================================================
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import secrets
import ssl
import threading
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from . import oauth
from .errors import ApiError
from .schema import make_field
from .web import Request, Response, json_response


class ControlError(Exception):
    pass


# --- server side ------------------------------------------------------------------------------


def handle(state, req: Request) -> Response:
    name = req.path[len("/_sim"):].strip("/") or "info"
    fn = ENDPOINTS.get(name)
    if fn is None:
        return json_response(404, {"error": f"unknown control endpoint {name!r}", "endpoints": sorted(ENDPOINTS)})
    try:
        body = req.json() if req.body else {}
        if name == "records" and req.method == "GET":
            body = {"object": req.arg("object"), "include_deleted": req.arg("include_deleted", "true").lower() != "false"}
        if not isinstance(body, dict):
            raise ControlError("the body must be a JSON object")
        if name == "reset":
            state.reset()
        org = state.org
        with org.lock:
            return json_response(200, fn(state, org, body))
    except (ControlError, ApiError, ValueError, KeyError, TypeError) as e:
        return json_response(400, {"error": f"{type(e).__name__}: {e}"})


def _obj(org, body: dict):
    name = body.get("object")
    obj = org.sobject(name or "")
    if obj is None:
        raise ControlError(f"no object {name!r}")
    return obj


def _info(state, org, body) -> dict:
    return {
        "url": state.base_url,
        "org_id": org.org_id,
        "user_id": org.user_id,
        "config": org.config,
        "objects": {o.name: o.key_prefix for o in org.objects.values()},
        "faults": org.faults.list(),
        "api_used": org.api_used,
    }


def _config(state, org, body) -> dict:
    org.configure(**body)
    return dict(org.config)


def _seed(state, org, body) -> dict:
    return {"ids": org.seed(_obj(org, body), list(body.get("records") or []))}


def _records(state, org, body) -> dict:
    obj = _obj(org, body)
    include_deleted = body.get("include_deleted", True)
    return {"records": [dict(r.values) for r in obj.records.values() if include_deleted or not r.deleted]}


def _update(state, org, body) -> dict:
    org.admin_update(_obj(org, body), body["id"], body.get("fields") or {})
    return {"ok": True}


def _delete(state, org, body) -> dict:
    obj = _obj(org, body)
    rec = obj.get(body["id"])
    if rec is None:
        raise ControlError(f"no {obj.name} {body['id']}")
    if not rec.deleted:
        org.delete(obj, rec.id)
    return {"ok": True}


def _add_field(state, org, body) -> dict:
    obj = _obj(org, body)
    spec = {k: v for k, v in body.items() if k != "object"}
    f = obj.add_field(make_field(**spec))
    return f.describe()


def _share(state, org, body) -> dict:
    """Private sharing: hide a record from the connected user (or show it again)."""
    obj = _obj(org, body)
    rec = obj.get(body["id"])
    if rec is None:
        raise ControlError(f"no {obj.name} {body['id']}")
    if body.get("hidden", True):
        org.hidden.add(rec.id[:15])
    else:
        org.hidden.discard(rec.id[:15])
    return {"hidden": sorted(org.hidden)}


def _remove_field(state, org, body) -> dict:
    _obj(org, body).remove_field(body["name"])
    return {"ok": True}


def _require_field(state, org, body) -> dict:
    obj = _obj(org, body)
    f = obj.field(body["name"])
    if f is None:
        raise ControlError(f"no field {body['name']} on {obj.name}")
    if f.type == "boolean":
        raise ControlError("a checkbox is never required (it defaults to false)")
    f.nillable = not body.get("required", True)
    obj.schema_changed()
    return f.describe()


def _field_access(state, org, body) -> dict:
    """Field-level security of one field for the connected user (lockdown.py): read-only when
    ``createable``/``updateable`` are false."""
    obj = _obj(org, body)
    f = obj.field(body["name"])
    if f is None:
        raise ControlError(f"no field {body['name']} on {obj.name}")
    f.createable = bool(body.get("createable", f.createable))
    f.updateable = bool(body.get("updateable", f.updateable))
    obj.schema_changed()
    return f.describe()


def _create_object(state, org, body) -> dict:
    obj = org.create_object(body["name"], body.get("fields") or [], key_prefix=body.get("key_prefix"), label=body.get("label"))
    return {"name": obj.name, "keyPrefix": obj.key_prefix}


def _delete_object(state, org, body) -> dict:
    org.delete_object(body["name"])
    return {"ok": True}


def _fault(state, org, body) -> dict:
    opts = dict(body)
    kind = opts.pop("kind", None)
    count = opts.pop("count", None)
    path = opts.pop("path", None)
    if kind == "expire_sessions":
        oauth.expire_sessions(org)
    elif kind == "revoke_refresh_tokens":
        oauth.revoke_refresh_tokens(org, keep_access_tokens=bool(opts.get("keep_access_tokens")))
    else:
        if kind == "latency" and "ms" not in opts:
            raise ControlError("fault latency needs ms=")
        if kind == "no_access" and org.sobject(opts.get("object") or "ThankView__c") is None:
            raise ControlError(f"no object {opts.get('object')!r}")
        org.faults.add(kind, count, path, **opts)
        if kind == "inactive_user":  # a deactivated user's sessions end
            oauth.expire_sessions(org)
    return {"faults": org.faults.list()}


def _clear_faults(state, org, body) -> dict:
    org.faults.clear()
    return {"faults": []}


def _faults(state, org, body) -> dict:
    return {"faults": org.faults.list()}


def _stats(state, org, body) -> dict:
    return org.stats.snapshot()


def _reset_stats(state, org, body) -> dict:
    org.stats.reset()
    return {"ok": True}


def _limits(state, org, body) -> dict:
    if body.get("used") is not None:
        org.api_used = int(body["used"])
    if body.get("max") is not None:
        org.configure(daily_api_max=int(body["max"]))
    return {"used": org.api_used, "max": org.config["daily_api_max"]}


ENDPOINTS = {
    "info": _info, "reset": _info, "config": _config, "seed": _seed, "records": _records, "update": _update,
    "delete": _delete, "add_field": _add_field, "remove_field": _remove_field, "require_field": _require_field,
    "field_access": _field_access, "create_object": _create_object, "delete_object": _delete_object,
    "fault": _fault, "clear_faults": _clear_faults,
    "faults": _faults, "stats": _stats, "reset_stats": _reset_stats, "limits": _limits, "share": _share,
}


# --- client -------------------------------------------------------------------------------------


class SimControl:
    """Python client of the control API (standard library only)."""

    def __init__(self, url: str, ca_path: str, timeout: float = 30.0):
        self.url = url.rstrip("/")
        self.ca_path = str(ca_path)
        parts = urlsplit(self.url)
        self._host, self._port = parts.hostname, parts.port or 443
        self._ssl = ssl.create_default_context(cafile=self.ca_path)
        self._timeout = timeout
        self._local = threading.local()

    # transport
    def _conn(self) -> http.client.HTTPSConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPSConnection(self._host, self._port, context=self._ssl, timeout=self._timeout)
            self._local.conn = conn
        return conn

    def request(self, method: str, path: str, body: Any = None, *, form: dict | None = None,
                headers: dict | None = None) -> tuple[int, dict, bytes]:
        """One raw HTTPS call to the simulator: (status, headers, body)."""
        hdrs = dict(headers or {})
        data = None
        if form is not None:
            data = urlencode(form).encode()
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        for attempt in (1, 2):
            conn = self._conn()
            try:
                conn.request(method, path, body=data, headers=hdrs)
                resp = conn.getresponse()
                payload = resp.read()
                return resp.status, {k.lower(): v for k, v in resp.getheaders()}, payload
            except (http.client.HTTPException, ConnectionError, OSError):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _call(self, method: str, name: str, body: dict | None = None, query: dict | None = None) -> Any:
        path = f"/_sim/{name}" + (f"?{urlencode(query)}" if query else "")
        status, _, payload = self.request(method, path, body)
        data = json.loads(payload or b"null")
        if status != 200:
            raise ControlError(data.get("error") if isinstance(data, dict) else payload.decode())
        return data

    # org lifecycle and config
    def info(self) -> dict:
        return self._call("GET", "info")

    def reset(self) -> dict:
        """Replace the org with a fresh one (new org id; tokens, data, faults and stats gone)."""
        return self._call("POST", "reset", {})

    def config(self, **kw) -> dict:
        return self._call("POST", "config", kw)

    # data
    def seed(self, obj: str, records: list[dict]) -> list[str]:
        return self._call("POST", "seed", {"object": obj, "records": records})["ids"]

    def records(self, obj: str, include_deleted: bool = True) -> list[dict]:
        return self._call("POST", "records", {"object": obj, "include_deleted": include_deleted})["records"]

    def get(self, obj: str, rec_id: str) -> dict | None:
        return next((r for r in self.records(obj) if r["Id"][:15] == rec_id[:15]), None)

    def update(self, obj: str, rec_id: str, fields: dict) -> None:
        self._call("POST", "update", {"object": obj, "id": rec_id, "fields": fields})

    def delete(self, obj: str, rec_id: str) -> None:
        self._call("POST", "delete", {"object": obj, "id": rec_id})

    def hide(self, obj: str, rec_id: str, hidden: bool = True) -> None:
        """Private sharing (sfsim.realorg): the user no longer sees this record."""
        self._call("POST", "share", {"object": obj, "id": rec_id, "hidden": hidden})

    # schema
    def add_field(self, obj: str, name: str, type: str, required: bool = False, external_id: bool = False,
                  length: int | None = None, reference_to: str | list[str] | None = None, **extra) -> dict:
        body = {"object": obj, "name": name, "type": type, "required": required, "external_id": external_id,
                "length": length, "reference_to": reference_to, **extra}
        return self._call("POST", "add_field", body)

    def remove_field(self, obj: str, name: str) -> None:
        self._call("POST", "remove_field", {"object": obj, "name": name})

    def require_field(self, obj: str, name: str, required: bool = True) -> dict:
        return self._call("POST", "require_field", {"object": obj, "name": name, "required": required})

    def field_access(self, obj: str, name: str, *, createable: bool | None = None, updateable: bool | None = None) -> dict:
        body = {"object": obj, "name": name}
        body.update({k: v for k, v in (("createable", createable), ("updateable", updateable)) if v is not None})
        return self._call("POST", "field_access", body)

    def strict_org(self) -> dict:
        """Turn on the strictest customer org (``sfsim.lockdown.STRICT_ORG``) for this org."""
        from .lockdown import STRICT_ORG

        return self.config(**STRICT_ORG)

    def create_object(self, name: str, fields: list[dict] | None = None, key_prefix: str | None = None) -> dict:
        return self._call("POST", "create_object", {"name": name, "fields": fields or [], "key_prefix": key_prefix})

    def delete_object(self, name: str) -> None:
        self._call("POST", "delete_object", {"name": name})

    # faults, stats, limits
    def fault(self, kind: str, count: int | None = None, **opts) -> list[dict]:
        return self._call("POST", "fault", {"kind": kind, "count": count, **opts})["faults"]

    def clear_faults(self) -> None:
        self._call("POST", "clear_faults", {})

    def faults(self) -> list[dict]:
        return self._call("GET", "faults")["faults"]

    def stats(self) -> dict:
        return self._call("GET", "stats")

    def reset_stats(self) -> None:
        self._call("POST", "reset_stats", {})

    def limits(self, used: int | None = None, max: int | None = None) -> dict:
        return self._call("POST", "limits", {"used": used, "max": max})

    # OAuth shortcut
    def connect(self, redirect_uri: str = "https://portal.test/integrations/salesforce/callback/",
                scope: str = "api refresh_token", client_id: str | None = None, client_secret: str | None = None) -> dict:
        """Run the real web-server flow (Allow + PKCE token exchange) and return the token
        response, for tests that need a connected org without a browser."""
        cfg = self.info()["config"]
        client_id = client_id or cfg["client_id"]
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        status, headers, body = self.request("POST", "/services/oauth2/authorize", form={
            "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": scope,
            "state": "sfsim", "code_challenge": challenge, "code_challenge_method": "S256", "action": "allow",
        })
        if status != 302:
            raise ControlError(f"authorize answered {status}: {body[:200]!r}")
        code = parse_qs(urlsplit(headers["location"]).query)["code"][0]
        status, _, body = self.request("POST", "/services/oauth2/token", form={
            "grant_type": "authorization_code", "code": code, "client_id": client_id,
            "client_secret": client_secret or cfg["client_secret"], "redirect_uri": redirect_uri, "code_verifier": verifier,
        })
        data = json.loads(body)
        if status != 200:
            raise ControlError(f"token answered {status}: {data}")
        return data
