"""Schema of the simulated org: field types, describe shapes, the default objects (§2.5, §6).

``default_schema`` builds Account, User, Contact, Lead and the guide's ``ThankView__c`` with
the describe types of reference §2.5 (Lookup → reference, DateTime → datetime, Checkbox →
boolean, Number(18,0) → double, URL → url, Text(255) → string). ``Send_Id__c`` is not there
by default: tests add it with the control API.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from . import ids

TEXT_TYPES = {"string", "email", "url", "textarea", "phone"}
FIELD_TYPES = TEXT_TYPES | {"id", "reference", "datetime", "date", "boolean", "double", "int"}
SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "string": "xsd:string",
    "email": "xsd:string",
    "url": "xsd:string",
    "textarea": "xsd:string",
    "phone": "xsd:string",
    "boolean": "xsd:boolean",
    "double": "xsd:double",
    "int": "xsd:int",
    "datetime": "xsd:dateTime",
    "date": "xsd:date",
}
DEFAULT_LENGTH = {"string": 255, "url": 255, "textarea": 255, "email": 80, "phone": 40}
# Custom objects get org-specific key prefixes starting with "a" (§4).
CUSTOM_PREFIXES = [f"a{c1}{c2}" for c1 in ids.BASE62[:10] for c2 in ids.BASE62]



# --- Values -----------------------------------------------------------------------------


def now_sf() -> str:
    """Current time in Salesforce's output format (§6)."""
    return format_datetime(dt.datetime.now(dt.UTC))


def format_datetime(value: dt.datetime) -> str:
    """``2018-12-18T22:51:36.000+0000``: UTC, milliseconds, ``+0000`` without colon (§6).

    Datetimes are stored in this form: it is fixed-width UTC, so string order is time order.
    A naive datetime (control API seeds) is taken as UTC.
    """
    value = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


_DATETIME_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(Z|[+-]\d{2}:?\d{2})\Z"
)
_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})\Z")


@functools.lru_cache(maxsize=4096)  # a Bulk file repeats the same few send dates
def parse_datetime(text: str) -> str | None:
    """Parse ``yyyy-MM-ddTHH:mm:ss(.SSS)?(Z|±HH:mm)`` (§6; ``±HHmm`` too, so our own output
    round-trips) into the stored form, or None if it is not one."""
    m = _DATETIME_RE.match(text)
    if not m:
        return None
    y, mo, d, h, mi, s, frac, tz = m.groups()
    try:
        if tz == "Z":
            offset = dt.timedelta(0)
        else:
            sign = -1 if tz[0] == "-" else 1
            digits = tz[1:].replace(":", "")
            offset = sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        ms = int((frac or "0").ljust(3, "0"))
        value = dt.datetime(
            int(y), int(mo), int(d), int(h), int(mi), int(s), ms * 1000, dt.timezone(offset)
        )
    except ValueError:
        return None
    return format_datetime(value)


@functools.lru_cache(maxsize=4096)
def parse_date(text: str) -> str | None:
    if not _DATE_RE.match(text):
        return None
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        return None


# --- Schema -----------------------------------------------------------------------------


@dataclass
class Field:
    name: str
    type: str
    label: str = ""
    length: int = 0
    precision: int = 0
    scale: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted_on_create: bool = False
    default: Any = None
    custom: bool = False
    external_id: bool = False
    unique: bool = False
    reference_to: list[str] = dc_field(default_factory=list)
    relationship_name: str | None = None
    auto_number: bool = False
    name_field: bool = False
    indexable: bool = True  # CreatedById & co. point every record at one user: no index

    def __post_init__(self):
        if self.type not in FIELD_TYPES:
            raise ValueError(f"unknown field type {self.type!r}")
        if not self.label:
            self.label = label_for(self.name)
        if not self.length:
            self.length = DEFAULT_LENGTH.get(self.type, 18 if self.type in ("id", "reference") else 0)
        if self.type == "boolean":
            # Checkbox: never null, defaults to false (§2.5).
            self.nillable, self.defaulted_on_create = False, True
            if self.default is None:
                self.default = False
        if self.type == "reference" and self.relationship_name is None:
            base = self.name[:-3] + "__r" if self.name.endswith("__c") else self.name[:-2]
            self.relationship_name = base or None

    @property
    def required(self) -> bool:
        """"Required on create" = createable and not nillable and not defaulted (§2.5)."""
        return self.createable and not self.nillable and not self.defaulted_on_create

    @property
    def indexed(self) -> bool:
        return self.indexable and (self.type in ("id", "email", "reference") or self.external_id or self.unique)

    def index_key(self, value: Any) -> Any:
        if value is None:
            return None
        if self.type in ("id", "reference"):
            return value[:15]
        if isinstance(value, str):
            return value.lower()
        return value

    def describe(self) -> dict:
        t = self.type
        text = t in TEXT_TYPES or t in ("id", "reference")
        return {
            "aggregatable": t not in ("textarea", "id"),
            "aiPredictionField": False,
            "autoNumber": self.auto_number,
            "byteLength": self.length * 3 if text else 0,
            "calculated": False,
            "calculatedFormula": None,
            "cascadeDelete": False,
            "caseSensitive": False,
            "compoundFieldName": None,
            "controllerName": None,
            "createable": self.createable,
            "custom": self.custom,
            "defaultValue": self.default if t == "boolean" else None,
            "defaultValueFormula": None,
            "defaultedOnCreate": self.defaulted_on_create,
            "dependentPicklist": False,
            "deprecatedAndHidden": False,
            "digits": 9 if t == "int" else 0,
            "displayLocationInDecimal": False,
            "encrypted": False,
            "externalId": self.external_id,
            "extraTypeInfo": None,
            "filterable": t != "textarea",
            "filteredLookupInfo": None,
            "formulaTreatNullNumberAsZero": False,
            "groupable": t not in ("double", "datetime", "textarea"),
            "highScaleNumber": False,
            "htmlFormatted": False,
            "idLookup": t == "id" or self.external_id or (t == "email" and not self.custom),
            "inlineHelpText": None,
            "label": self.label,
            "length": self.length if text else 0,
            "mask": None,
            "maskType": None,
            "name": self.name,
            "nameField": self.name_field,
            "namePointing": False,
            "nillable": self.nillable,
            "permissionable": self.custom and self.nillable,
            "picklistValues": [],
            "polymorphicForeignKey": False,
            "precision": self.precision,
            "queryByDistance": False,
            "referenceTargetField": None,
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "relationshipOrder": None,
            "restrictedDelete": False,
            "restrictedPicklist": False,
            "scale": self.scale,
            "searchPrefilterable": t == "reference",
            "soapType": SOAP_TYPES[t],
            "sortable": t != "textarea",
            "type": t,
            "unique": self.unique,
            "updateable": self.updateable,
            "writeRequiresMasterRead": False,
        }


def label_for(api_name: str) -> str:
    custom = api_name.endswith("__c")
    base = api_name[:-3] if custom else api_name
    if not custom and base.endswith("Id") and len(base) > 2:
        base = base[:-2]
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", base).replace("_", " ").strip()


class Record:
    __slots__ = ("id", "seq", "values")

    def __init__(self, rec_id: str, seq: int, values: dict):
        self.id, self.seq, self.values = rec_id, seq, values

    @property
    def deleted(self) -> bool:
        return bool(self.values.get("IsDeleted"))


class SObjectType:
    def __init__(
        self,
        name: str,
        key_prefix: str,
        *,
        label: str | None = None,
        label_plural: str | None = None,
        custom: bool | None = None,
        compound_name: bool = False,
        auto_number_format: str | None = None,
    ):
        self.name = name
        self.key_prefix = key_prefix
        self.label = label or label_for(name)
        self.label_plural = label_plural or self.label + "s"
        self.custom = name.endswith("__c") if custom is None else custom
        self.compound_name = compound_name  # Contact/Lead: Name = FirstName + LastName
        self.auto_number_format = auto_number_format
        self.auto_number = 0
        self.name_from_id = False  # a Text Name left empty takes the record's Id (lockdown.text_name)
        self.fields: dict[str, Field] = {}
        self._by_lower: dict[str, Field] = {}
        self.records: dict[str, Record] = {}
        self.indexes: dict[str, dict[Any, set[str]]] = {}
        self._blank: dict[str, Any] | None = None
        self._required: list[str] | None = None

    # per-schema caches (every write uses them); any schema change must call schema_changed()
    def schema_changed(self) -> None:
        self._blank = self._required = None

    def blank(self) -> dict[str, Any]:
        """Values of a new record before the client's: checkboxes false, the rest null."""
        if self._blank is None:
            self._blank = {f.name: (f.default if f.type == "boolean" else None) for f in self.fields.values()}
        return self._blank

    def required_fields(self) -> list[str]:
        if self._required is None:
            self._required = [f.name for f in self.fields.values()
                              if f.required and not (f.name_field and self.name_from_id)]
        return self._required

    # schema
    def field(self, name: str) -> Field | None:
        return self._by_lower.get(name.lower())

    def add_field(self, f: Field) -> Field:
        if f.name.lower() in self._by_lower:
            raise ValueError(f"field {f.name} already exists on {self.name}")
        self.fields[f.name] = f
        self._by_lower[f.name.lower()] = f
        self.schema_changed()
        if f.indexed:
            index: dict[Any, set[str]] = {}
            for rec in self.records.values():
                key = f.index_key(rec.values.get(f.name))
                if key is not None:
                    index.setdefault(key, set()).add(rec.id[:15])
            self.indexes[f.name] = index
        return f

    def remove_field(self, name: str) -> None:
        f = self.field(name)
        if f is None:
            raise KeyError(name)
        del self.fields[f.name]
        del self._by_lower[f.name.lower()]
        self.schema_changed()
        self.indexes.pop(f.name, None)
        for rec in self.records.values():  # deleting a field deletes its data
            rec.values.pop(f.name, None)

    # indexes
    def index_add(self, rec: Record, names: Iterable[str] | None = None) -> None:
        for name in self.indexes if names is None else names:
            index = self.indexes.get(name)
            if index is None:
                continue
            key = self.fields[name].index_key(rec.values.get(name))
            if key is not None:
                index.setdefault(key, set()).add(rec.id[:15])

    def index_remove(self, rec: Record, names: Iterable[str] | None = None) -> None:
        for name in self.indexes if names is None else names:
            index = self.indexes.get(name)
            if index is None:
                continue
            key = self.fields[name].index_key(rec.values.get(name))
            bucket = index.get(key)
            if bucket is not None:
                bucket.discard(rec.id[:15])
                if not bucket:
                    del index[key]

    def lookup(self, field_name: str, key: Any) -> set[str]:
        """15-char ids of records whose indexed field has this (normalised) key."""
        return self.indexes[field_name].get(key, set())

    def get(self, rec_id: str) -> Record | None:
        return self.records.get(rec_id[:15])

    def describe(self, version: str, *, createable: bool = True) -> dict:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        fields = [f.describe() for f in self.fields.values()]
        if not createable:
            for f in fields:
                f["createable"] = f["updateable"] = False
        return {
            **self.summary(version, createable=createable),
            "actionOverrides": [],
            "childRelationships": [],  # filled in by Org.describe
            "compactLayoutable": True,
            "defaultImplementation": None,
            "extendedBy": None,
            "extendsInterfaces": None,
            "fields": fields,
            "implementedBy": None,
            "implementsInterfaces": None,
            "isInterface": False,
            "listviewable": None,
            "lookupLayoutable": None,
            "namedLayoutInfos": [],
            "networkScopeFieldName": None,
            "recordTypeInfos": [
                {
                    "active": True,
                    "available": True,
                    "defaultRecordTypeMapping": True,
                    "developerName": "Master",
                    "master": True,
                    "name": "Master",
                    "recordTypeId": "012000000000000AAA",
                    "urls": {"layout": f"{base}/describe/layouts/012000000000000AAA"},
                }
            ],
            "searchLayoutable": True,
            "supportedScopes": [
                {"label": "All " + self.label_plural.lower(), "name": "everything"},
                {"label": "My " + self.label_plural.lower(), "name": "mine"},
            ],
            "urls": {
                "compactLayouts": f"{base}/describe/compactLayouts",
                "rowTemplate": f"{base}/{{ID}}",
                "approvalLayouts": f"{base}/describe/approvalLayouts",
                "uiDetailTemplate": "https://sfsim.invalid/{ID}",
                "uiEditTemplate": "https://sfsim.invalid/{ID}/e",
                "defaultValues": f"{base}/defaultValues?recordTypeId&fields",
                "describe": f"{base}/describe",
                "uiNewRecord": f"https://sfsim.invalid/{self.key_prefix}/e",
                "quickActions": f"{base}/quickActions",
                "layouts": f"{base}/describe/layouts",
                "sobject": base,
            },
        }

    def summary(self, version: str, *, createable: bool = True) -> dict:
        """The describeGlobal entry / top-level describe keys (§2.5)."""
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {
            "activateable": False,
            "associateEntityType": None,
            "associateParentEntity": None,
            "createable": createable,
            "custom": self.custom,
            "customSetting": False,
            "deepCloneable": False,
            "deletable": createable,
            "deprecatedAndHidden": False,
            "feedEnabled": False,
            "hasSubtypes": False,
            "isSubtype": False,
            "keyPrefix": self.key_prefix,
            "label": self.label,
            "labelPlural": self.label_plural,
            "layoutable": True,
            "mergeable": self.name in ("Contact", "Lead", "Account"),
            "mruEnabled": True,
            "name": self.name,
            "queryable": True,
            "replicateable": True,
            "retrieveable": True,
            "searchable": True,
            "triggerable": True,
            "undeletable": createable,
            "updateable": createable,
            "urls": {
                "rowTemplate": f"{base}/{{ID}}",
                "describe": f"{base}/describe",
                "sobject": base,
            },
        }


def add_system_fields(obj: SObjectType, *, name_field: Field | None) -> None:
    ro = {"createable": False, "updateable": False}
    obj.add_field(Field("Id", "id", label=f"{obj.label} ID", nillable=False, defaulted_on_create=True, **ro))
    obj.add_field(Field("IsDeleted", "boolean", label="Deleted", **ro))
    if name_field is not None:
        obj.add_field(name_field)
    obj.add_field(Field("CreatedDate", "datetime", label="Created Date", nillable=False, defaulted_on_create=True, **ro))
    obj.add_field(Field("CreatedById", "reference", label="Created By ID", reference_to=["User"], nillable=False, defaulted_on_create=True, relationship_name="CreatedBy", indexable=False, **ro))
    obj.add_field(Field("LastModifiedDate", "datetime", label="Last Modified Date", nillable=False, defaulted_on_create=True, **ro))
    obj.add_field(Field("LastModifiedById", "reference", label="Last Modified By ID", reference_to=["User"], nillable=False, defaulted_on_create=True, relationship_name="LastModifiedBy", indexable=False, **ro))
    obj.add_field(Field("SystemModstamp", "datetime", label="System Modstamp", nillable=False, defaulted_on_create=True, **ro))


SYSTEM_FIELDS = {"Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp"}

# The guide's ThankView__c fields (seed/thankview-salesforce-guide.txt), typed per §2.5.
THANKVIEW_CHECKBOXES = [
    "Opened__c", "Clicked__c", "Started_Watching__c", "Finished_Watching__c", "CTA_Clicked__c",
    "Downloaded__c", "Shared__c", "Bounced__c", "Unsubscribed__c",
]


def default_schema() -> list[SObjectType]:
    account = SObjectType("Account", "001")
    add_system_fields(account, name_field=Field("Name", "string", label="Account Name", nillable=False, name_field=True))

    user = SObjectType("User", "005")
    add_system_fields(user, name_field=Field("Name", "string", label="Full Name", createable=False, updateable=False, name_field=True))
    for f in [
        Field("Username", "string", nillable=False, length=80),
        Field("Email", "email", nillable=False, length=128),
        Field("FirstName", "string", label="First Name", length=40),
        Field("LastName", "string", label="Last Name", nillable=False, length=80),
        Field("IsActive", "boolean", label="Active"),
    ]:
        user.add_field(f)

    contact = SObjectType("Contact", "003", compound_name=True)
    add_system_fields(contact, name_field=Field("Name", "string", label="Full Name", length=121, createable=False, updateable=False, nillable=False, name_field=True))
    for f in [
        Field("FirstName", "string", label="First Name", length=40),
        Field("LastName", "string", label="Last Name", length=80, nillable=False),
        Field("Email", "email"),
        Field("AccountId", "reference", label="Account ID", reference_to=["Account"]),
    ]:
        contact.add_field(f)

    lead = SObjectType("Lead", "00Q", compound_name=True)
    add_system_fields(lead, name_field=Field("Name", "string", label="Full Name", length=121, createable=False, updateable=False, nillable=False, name_field=True))
    for f in [
        Field("FirstName", "string", label="First Name", length=40),
        Field("LastName", "string", label="Last Name", length=80, nillable=False),
        Field("Company", "string", nillable=False),
        Field("Email", "email"),
        Field("IsConverted", "boolean", label="Converted", createable=False, updateable=False),
        Field("ConvertedContactId", "reference", label="Converted Contact ID", reference_to=["Contact"], createable=False, updateable=False),
    ]:
        lead.add_field(f)

    tv = SObjectType("ThankView__c", "a0X", label="ThankView", auto_number_format="TV-{0:06d}")
    add_system_fields(tv, name_field=Field("Name", "string", label="ThankView Name", length=80, nillable=False, createable=False, updateable=False, defaulted_on_create=True, auto_number=True, name_field=True))
    tv.add_field(Field("Contact__c", "reference", label="Contact", custom=True, reference_to=["Contact"]))
    tv.add_field(Field("Lead__c", "reference", label="Lead", custom=True, reference_to=["Lead"]))
    tv.add_field(Field("Event_Name__c", "string", custom=True))
    tv.add_field(Field("Sent_Date__c", "datetime", custom=True))
    for name in THANKVIEW_CHECKBOXES:
        tv.add_field(Field(name, "boolean", custom=True))
    tv.add_field(Field("Views__c", "double", custom=True, precision=18, scale=0))
    tv.add_field(Field("Url__c", "url", label="Url", custom=True))
    tv.add_field(Field("Video_Url__c", "url", label="Video Url", custom=True))
    tv.add_field(Field("Text_Reply__c", "string", custom=True))
    tv.add_field(Field("Video_Reply__c", "url", custom=True))
    tv.add_field(Field("Portal_Id__c", "string", label="Portal Id", custom=True))
    tv.add_field(Field("Portal_Name__c", "string", custom=True))
    return [account, user, contact, lead, tv]



def make_field(name: str, type: str, required: bool = False, external_id: bool = False, length: int | None = None,
               reference_to: str | list[str] | None = None, unique: bool = False, label: str | None = None,
               precision: int | None = None, scale: int | None = None, createable: bool = True, updateable: bool = True) -> Field:
    """A custom field as an admin creates it in Setup (control API ``add_field``)."""
    type = {"text": "string", "checkbox": "boolean", "number": "double", "lookup": "reference"}.get(type.lower(), type.lower())
    refs = [reference_to] if isinstance(reference_to, str) else list(reference_to or [])
    if type == "reference" and not refs:
        raise ValueError("a reference field needs reference_to")
    kw: dict[str, Any] = {
        "custom": name.endswith("__c"), "external_id": external_id, "unique": unique, "reference_to": refs,
        "nillable": not required, "label": label or "", "createable": createable, "updateable": updateable,
    }
    if length:
        kw["length"] = length
    if type == "double":
        kw["precision"] = 18 if precision is None else precision
        kw["scale"] = 0 if scale is None else scale
    return Field(name, type, **kw)
