"""The simulated org: schema, records, indexes and the DML rules every write path shares.

Single-record REST, sObject Collections, Composite and Bulk API 2.0 all call ``Org.insert``,
``Org.update``, ``Org.upsert`` and ``Org.delete``, so a record fails for the same reason with
the same ``DmlError`` whichever API wrote it. Callers hold ``Org.lock``.

Records live in a dict per object keyed by the 15-character id (ids are case-sensitive, and
the 15 characters identify the record whichever form the client sent). Fields of type id,
email and reference and external-id fields are indexed (lower-cased for text), so matching
queries such as ``Email IN (...)`` and upserts by external id stay O(matches).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import threading
from collections import OrderedDict
from typing import Any

from . import ids, lockdown, realorg
from .errors import DmlError
from .faults import FaultSet, Stats
from .schema import (
    CUSTOM_PREFIXES,
    TEXT_TYPES,
    Field,
    Record,
    SObjectType,
    add_system_fields,
    default_schema,
    format_datetime,
    make_field,
    now_sf,
    parse_date,
    parse_datetime,
)

DEFAULT_CONFIG: dict[str, Any] = {
    "client_id": "sfsim-client-id",
    "client_secret": "sfsim-client-secret",
    # None: accept any redirect URI whose path is the portal's callback path.
    "redirect_uris": None,
    "redirect_path": "/integrations/salesforce/callback/",
    "app_name": "ThankView Portal",
    "query_batch_size": 2000,
    "latency_ms": 0,
    "daily_api_max": 15000,
    "bulk_delay_ms": 100,
    # One Bulk API 2.0 upload's largest body, in bytes (bulk.upload).
    "bulk_max_upload_bytes": 150 * 1000 * 1000,
    "username": "admin@sfsim.example",
    "display_name": "Sim Admin",
    "email": "admin@sfsim.example",
    "org_name": "sfsim Org",
    # A locked-down customer org's switches (realorg.py, lockdown.py), all off by default
    # except blank_is_null, which is Salesforce's own rule.
    **realorg.DEFAULTS,
    **lockdown.DEFAULTS,
}



def _known_config(kw: dict) -> dict:
    unknown = set(kw) - set(DEFAULT_CONFIG)
    if unknown:
        raise ValueError(f"unknown config keys: {sorted(unknown)}; known: {sorted(DEFAULT_CONFIG)}")
    return kw


_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+\Z")



class JsonTypeError(Exception):
    """A JSON value of the wrong type for its field: Salesforce fails the whole request with
    400 JSON_PARSER_ERROR while deserialising (§6), not the single record."""

    def __init__(self, field: str, sf_type: str, token: str, value: Any):
        super().__init__(field)
        self.field, self.sf_type, self.token, self.value = field, sf_type, token, value


def _json_token(value: Any) -> str:
    if isinstance(value, bool):
        return "VALUE_TRUE" if value else "VALUE_FALSE"
    if isinstance(value, int):
        return "VALUE_NUMBER_INT"
    if isinstance(value, float):
        return "VALUE_NUMBER_FLOAT"
    if isinstance(value, str):
        return "VALUE_STRING"
    if isinstance(value, dict):
        return "START_OBJECT"
    return "START_ARRAY"


# --- The org ----------------------------------------------------------------------------


class Org:
    """One org: schema + data + OAuth grants + API usage + faults + stats."""

    def __init__(self, config: dict | None = None, *, base_url: str = ""):
        self.lock = threading.RLock()
        self.base_url = base_url
        self.config = {**DEFAULT_CONFIG, **_known_config(config or {})}
        self.ids = ids.IdFactory()
        self.org_id = self.ids.random("00D")
        self.user_id = self.ids.random("005")
        self.objects: dict[str, SObjectType] = {}
        for obj in default_schema():
            self.objects[obj.name.lower()] = obj
        self._seq = 0
        self._journal: list | None = None
        self._depth = 0
        self.api_used = 0
        self.faults = FaultSet()
        self.stats = Stats()
        # OAuth state (oauth.py): code -> grant, token -> grant.
        self.codes: dict[str, dict] = {}
        self.access_tokens: dict[str, dict] = {}
        self.refresh_tokens: dict[str, dict] = {}
        # Approvals per user per connected app, oldest first, and records hidden from the
        # user by sharing (15-char ids): realorg.py.
        self.approvals: list[dict] = []
        self.hidden: set[str] = set()
        # Query cursors (rest.py) and Bulk jobs (bulk.py).
        self.cursors: OrderedDict[str, dict] = OrderedDict()
        self.jobs: dict[str, Any] = {}
        self._seed_user()
        lockdown.apply(self)

    # configuration
    def configure(self, **kw) -> None:
        self.config.update(_known_config(kw))
        if lockdown.SCHEMA_KEYS & set(kw):
            lockdown.apply(self)
        if {"username", "display_name", "email"} & set(kw):  # the User record follows
            user = self.sobject("User")
            self._change(user, user.get(self.user_id), self._user_values())

    def _user_values(self) -> dict[str, Any]:
        display = self.config["display_name"]
        first, _, last = display.partition(" ")
        return {"Username": self.config["username"], "Email": self.config["email"], "FirstName": first,
                "LastName": last or first, "Name": display, "IsActive": True}

    def _seed_user(self) -> None:
        self._store(self.sobject("User"), self._user_values(), rec_id=self.user_id)

    @property
    def org_id15(self) -> str:
        return self.org_id[:15]

    # schema access
    def sobject(self, name: str) -> SObjectType | None:
        return self.objects.get(name.lower())

    def sobject_for_id(self, rec_id: str) -> SObjectType | None:
        prefix = rec_id[:3]
        for obj in self.objects.values():
            if obj.key_prefix == prefix:
                return obj
        return None

    def create_object(self, name: str, fields: list[dict] | None = None, *, key_prefix: str | None = None, label: str | None = None) -> SObjectType:
        """A new custom object (control API), e.g. a customer's own ``Constituent__c``."""
        if not name.endswith("__c"):
            raise ValueError("custom object names end in __c")
        if self.sobject(name):
            raise ValueError(f"object {name} already exists")
        used = {o.key_prefix for o in self.objects.values()}
        if key_prefix is None:
            key_prefix = next(p for p in CUSTOM_PREFIXES if p not in used)
        elif key_prefix in used or len(key_prefix) != 3 or not key_prefix.isalnum():
            raise ValueError(f"key prefix {key_prefix!r} is taken or malformed")
        obj = SObjectType(name, key_prefix, label=label, auto_number_format=name[:2].upper() + "-{0:06d}")
        add_system_fields(obj, name_field=Field("Name", "string", label=f"{obj.label} Name", length=80, nillable=False, createable=False, updateable=False, defaulted_on_create=True, auto_number=True, name_field=True))
        for spec in fields or []:
            obj.add_field(make_field(**spec))
        self.objects[name.lower()] = obj
        return obj

    def delete_object(self, name: str) -> None:
        obj = self.sobject(name)
        if obj is None or not obj.custom:
            raise ValueError(f"no custom object {name}")
        del self.objects[name.lower()]

    def child_relationships(self, obj: SObjectType) -> list[dict]:
        out = []
        for child in self.objects.values():
            for f in child.fields.values():
                if f.type == "reference" and obj.name in f.reference_to and f.name not in ("CreatedById", "LastModifiedById"):
                    out.append({
                        "cascadeDelete": False,
                        "childSObject": child.name,
                        "deprecatedAndHidden": False,
                        "field": f.name,
                        "junctionIdListNames": [],
                        "junctionReferenceTo": [],
                        "relationshipName": (child.name[:-3] + "s__r") if child.custom else child.label_plural.replace(" ", ""),
                        "restrictedDelete": False,
                    })
        return out

    # --- DML ------------------------------------------------------------------------------

    def coerce(self, obj: SObjectType, raw: dict, *, source: str = "json") -> dict[str, Any]:
        """Map a client's field names and values onto typed stored values.

        ``source="json"``: JSON types must match (a checkbox given ``"false"`` is a
        JsonTypeError → request-level JSON_PARSER_ERROR, §6). ``source="csv"`` (Bulk): every
        cell is text; ``true/false`` for checkboxes, empty or ``#N/A`` for null (§2.9), and a
        bad value fails that row. ``source="seed"``: lenient, for the control API.
        Unknown fields → DmlError INVALID_FIELD (§3.2 "No such column ... on sobject of type").
        """
        out: dict[str, Any] = {}
        for key, value in raw.items():
            if key == "attributes":
                continue
            f = obj.field(key)
            if f is None:
                raise DmlError("INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}")
            out[f.name] = self._coerce_value(f, value, source)
            if source == "json":
                out[f.name] = lockdown.blank_to_null(self, f, out[f.name])
        return out

    def _coerce_value(self, f: Field, value: Any, source: str) -> Any:
        t = f.type
        if source == "csv":
            if value in ("", "#N/A"):
                return None
            bad = DmlError("INVALID_TYPE_ON_FIELD_IN_RECORD", f"{f.label}: value not of required type: {value}", [f.name])
            if t == "boolean":
                low = value.lower()
                if low in ("true", "1", "yes"):
                    return True
                if low in ("false", "0", "no"):
                    return False
                raise bad
            if t in ("double", "int"):
                try:
                    num = float(value)
                except ValueError:
                    raise bad from None
                return self._number(f, num)
            if t == "datetime":
                parsed = parse_datetime(value)
                if parsed is None:
                    raise bad
                return parsed
            if t == "date":
                parsed = parse_date(value)
                if parsed is None:
                    raise bad
                return parsed
            return value

        if value is None:
            return False if t == "boolean" and source == "seed" else None
        jerr = JsonTypeError(f.name, t, _json_token(value), value)
        if t == "boolean":
            if not isinstance(value, bool):
                raise jerr
            return value
        if t in ("double", "int"):
            if isinstance(value, (bool, dict, list)):
                raise jerr
            try:
                num = float(value)
            except ValueError:
                raise jerr from None
            return self._number(f, num)
        if t in ("datetime", "date"):
            if source == "seed" and isinstance(value, dt.datetime):
                return format_datetime(value)
            if not isinstance(value, str):
                raise jerr
            parsed = parse_datetime(value) if t == "datetime" else parse_date(value)
            if parsed is None and source == "seed" and t == "datetime":
                try:
                    parsed = format_datetime(dt.datetime.fromisoformat(value))
                except ValueError:
                    parsed = None
            if parsed is None:
                raise jerr
            return parsed
        if t in ("id", "reference"):
            if not isinstance(value, str):
                raise jerr
            return value
        # text: numbers are accepted and turned into text, like Salesforce does
        if isinstance(value, (dict, list)):
            raise jerr
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    @staticmethod
    def _number(f: Field, num: float) -> float:
        if not math.isfinite(num):
            raise DmlError("NUMBER_OUTSIDE_VALID_RANGE", f"{f.label}: value outside of valid range on numeric field: {num}", [f.name])
        if f.type == "int":
            return float(int(num))
        num = round(num, f.scale)
        if f.precision and abs(num) >= 10 ** (f.precision - f.scale):
            raise DmlError("NUMBER_OUTSIDE_VALID_RANGE", f"{f.label}: value outside of valid range on numeric field: {num}", [f.name])
        return float(num)

    def check_values(self, obj: SObjectType, values: dict[str, Any], *, creating: bool) -> None:
        """Field-level rules shared by every write path (§3.2, §6)."""
        locked = [name for name in values if not (obj.fields[name].createable if creating else obj.fields[name].updateable)]
        if locked:
            if "Id" in locked and creating:
                raise DmlError("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
            raise DmlError(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(locked)}. Please check the security settings "
                "of this field and verify that it is read/write for your profile or permission set.",
                locked,
            )
        for name, value in values.items():
            f = obj.fields[name]
            if value is None:
                continue
            if f.type in TEXT_TYPES:
                if len(value) > f.length:
                    # Since API 15.0 over-long text fails instead of being truncated (§6).
                    raise DmlError("STRING_TOO_LONG", f"{f.label}: data value too large: {value} (max length={f.length})", [name])
                if f.type == "email" and not _EMAIL_RE.match(value):
                    raise DmlError("INVALID_EMAIL_ADDRESS", f"{f.label}: invalid email address: {value}", [name])
            elif f.type == "reference":
                values[name] = self._check_reference(f, value)
        if creating:
            missing = [name for name in obj.required_fields() if values.get(name) is None]
        else:
            missing = [name for name, value in values.items() if value is None and obj.fields[name].required]
        if missing:
            raise DmlError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing)
        refusal = realorg.rejected(self, obj, values)
        if refusal is not None:
            raise refusal

    def _check_reference(self, f: Field, value: str) -> str:
        """A lookup must hold an id of the right object that exists (§3.2).

        Malformed or of another object's key prefix → MALFORMED_ID (label-prefixed message);
        well-formed but no such record → INVALID_CROSS_REFERENCE_KEY; a deleted, hidden or
        unreadable record or a converted Lead: ``realorg.reference_error``.
        """
        canonical = ids.to18(value)
        targets = [self.sobject(name) for name in f.reference_to]
        targets = [t for t in targets if t is not None]
        target = next((t for t in targets if canonical and canonical[:3] == t.key_prefix), None)
        if canonical is None or target is None:
            raise DmlError("MALFORMED_ID", f"{f.label}: id value of incorrect type: {value}", [f.name])
        rec = target.get(canonical)
        if rec is None:
            raise DmlError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
        err = realorg.reference_error(self, f, target, rec)
        if err is not None:
            raise err
        return canonical

    def _check_unique(self, obj: SObjectType, values: dict[str, Any], own_id: str | None) -> None:
        for name, value in values.items():
            f = obj.fields[name]
            if f.unique and value is not None:
                hits = obj.lookup(name, f.index_key(value)) - ({own_id[:15]} if own_id else set())
                live = [h for h in hits if not obj.records[h].deleted]
                if live:
                    raise DmlError("DUPLICATE_VALUE", f"duplicate value found: {name} duplicates value on record with id: {obj.records[live[0]].id}", [name])

    def insert(self, obj: SObjectType, values: dict[str, Any]) -> str:
        """Create a record from coerced values; returns its 18-char id or raises DmlError."""
        self.check_values(obj, values, creating=True)
        self._check_unique(obj, values, None)
        return self._store(obj, values).id

    def update(self, obj: SObjectType, rec_id: str, values: dict[str, Any]) -> None:
        rec = self.existing(obj, rec_id)
        self.check_values(obj, values, creating=False)
        self._check_unique(obj, values, rec.id)
        self._change(obj, rec, values)

    def existing(self, obj: SObjectType, rec_id: str) -> Record:
        """The live record an update/delete addresses, or the DmlError Salesforce gives.

        Malformed id or another object's → MALFORMED_ID; no such record →
        INVALID_CROSS_REFERENCE_KEY; deleted → ENTITY_IS_DELETED (§3.2).
        """
        canonical = ids.to18(rec_id) if isinstance(rec_id, str) else None
        if canonical is None or canonical[:3] != obj.key_prefix:
            raise DmlError("MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: {rec_id}", ["Id"])
        rec = obj.get(canonical)
        if rec is None:
            raise DmlError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
        if rec.deleted:
            raise DmlError("ENTITY_IS_DELETED", "entity is deleted", [])
        return rec

    def delete(self, obj: SObjectType, rec_id: str) -> str:
        """Soft delete (Recycle Bin): the row stays for queryAll with IsDeleted = true (§5)."""
        rec = self.existing(obj, rec_id)
        self._change(obj, rec, {"IsDeleted": True})
        return rec.id

    def purge(self, obj: SObjectType, rec_id: str) -> None:
        """Hard delete (Bulk ``hardDelete``, never inside allOrNone): gone even for queryAll."""
        rec = obj.get(rec_id)
        if rec is not None:
            obj.index_remove(rec)
            del obj.records[rec.id[:15]]

    def upsert(self, obj: SObjectType, ext_field: Field, values: dict[str, Any]) -> tuple[str, bool]:
        """Create or update by an external id value carried in ``values`` (§2.6, §2.7)."""
        key = ext_field.index_key(values.get(ext_field.name))
        matches = [obj.records[h] for h in obj.lookup(ext_field.name, key) if not obj.records[h].deleted] if key is not None else []
        if len(matches) > 1:
            ids_list = ", ".join(sorted(r.id for r in matches))
            raise DmlError("DUPLICATE_EXTERNAL_ID", f"{ext_field.label}: more than one record found for external id field: [{ids_list}]", [ext_field.name])
        if matches:
            rest = {k: v for k, v in values.items() if k != ext_field.name}
            self.update(obj, matches[0].id, rest)
            return matches[0].id, False
        return self.insert(obj, values), True

    # storage, journal for allOrNone rollback
    def _store(self, obj: SObjectType, values: dict[str, Any], *, rec_id: str | None = None) -> Record:
        rec_id = rec_id or self.ids.new(obj.key_prefix)
        stamp = now_sf()
        full = dict(obj.blank())
        full.update(values)
        full["Id"], full["IsDeleted"] = rec_id, bool(full.get("IsDeleted"))
        for name in ("CreatedDate", "LastModifiedDate", "SystemModstamp"):
            if full.get(name) is None:
                full[name] = stamp
        for name in ("CreatedById", "LastModifiedById"):
            if full.get(name) is None:
                full[name] = self.user_id
        if obj.auto_number_format and full.get("Name") is None:
            obj.auto_number += 1
            full["Name"] = obj.auto_number_format.format(obj.auto_number)
        if obj.name_from_id and full.get("Name") is None:  # a Text Name left empty (lockdown.text_name)
            full["Name"] = rec_id
        if obj.compound_name:
            full["Name"] = " ".join(p for p in (full.get("FirstName"), full.get("LastName")) if p) or None
        self._seq += 1
        rec = Record(rec_id, self._seq, full)
        obj.records[rec_id[:15]] = rec
        obj.index_add(rec)
        if self._journal is not None:
            self._journal.append((obj, rec, None))
        return rec

    def _change(self, obj: SObjectType, rec: Record, values: dict[str, Any]) -> None:
        if self._journal is not None:
            self._journal.append((obj, rec, dict(rec.values)))
        touched = [name for name in values if name in obj.indexes]
        obj.index_remove(rec, touched)
        rec.values.update(values)
        if obj.compound_name and ("FirstName" in values or "LastName" in values):
            rec.values["Name"] = " ".join(p for p in (rec.values.get("FirstName"), rec.values.get("LastName")) if p) or None
        stamp = now_sf()
        for name in ("LastModifiedDate", "SystemModstamp"):
            if name in obj.fields:
                rec.values[name] = stamp
        obj.index_add(rec, touched)

    def savepoint(self) -> int:
        """Start (or nest into) a journal of writes that ``rollback_to`` can undo (allOrNone)."""
        if self._journal is None:
            self._journal, self._depth = [], 0
        self._depth += 1
        return len(self._journal)

    def release(self, sp: int) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._journal = None

    def rollback_to(self, sp: int) -> None:
        """Undo every write since savepoint ``sp`` (§2.7 allOrNone), newest first."""
        journal = self._journal or []
        for obj, rec, old in reversed(journal[sp:]):
            obj.index_remove(rec)
            if old is None:
                obj.records.pop(rec.id[:15], None)
            else:
                rec.values = old
                obj.index_add(rec)
        del journal[sp:]
        self.release(sp)

    # --- control API helpers --------------------------------------------------------------

    def seed(self, obj: SObjectType, records: list[dict]) -> list[str]:
        """Insert records as an admin would: system fields allowed, no DML rules."""
        out = []
        for raw in records:
            values = self.coerce(obj, raw, source="seed")
            rec_id = values.pop("Id", None)
            if rec_id is not None:
                rec_id = ids.to18(rec_id)
                if rec_id is None or rec_id[:3] != obj.key_prefix or obj.get(rec_id):
                    raise ValueError(f"bad or duplicate Id {raw.get('Id')!r}")
            out.append(self._store(obj, values, rec_id=rec_id).id)
        return out

    def admin_update(self, obj: SObjectType, rec_id: str, raw: dict) -> None:
        rec = obj.get(ids.to18(rec_id) or "")
        if rec is None:
            raise KeyError(rec_id)
        self._change(obj, rec, self.coerce(obj, raw, source="seed"))

