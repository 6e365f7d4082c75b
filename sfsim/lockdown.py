"""A locked-down customer org's permissions and schema (reference §8): what its admin set
up, next to ``realorg.py``'s tokens, approvals, sharing and hosts.

Each behaviour is an org config key (``org.DEFAULT_CONFIG``), so it survives ``/_sim/reset``
when the server is started with it (``start(**STRICT_ORG)``) and can be switched per test
with ``SimControl.config(...)``:

=====================  ==============================================================
``view_setup``         False: the integration user lacks "View Setup and Configuration",
                       so ``GET /limits`` is refused (``limits_refused``). Every
                       ``/services/data`` answer still carries ``Sforce-Limit-Info``.
``read_only_fields``   ``["ThankView__c.Views__c", ...]``: field-level security made these
                       read-only: describe says ``createable``/``updateable`` false and a
                       write that includes one fails per record with
                       INVALID_FIELD_FOR_INSERT_UPDATE (``Org.check_values``).
``text_name_objects``  ``["ThankView__c", ...]``: the object's Name is Text, not an
                       Auto Number (an object an admin created by hand).
``blank_is_null``      True (default, as Salesforce): ``""`` for a text field is stored as
                       null, so ``""`` for a required field fails REQUIRED_FIELD_MISSING.
``hidden_contact``     True: private sharing keeps one Contact (``HIDDEN_CONTACT``) from
                       the user (``realorg`` hiding), seeded with every fresh org.
=====================  ==============================================================

``STRICT_ORG`` turns the strictest combination of both modules on together (``realorg.STRICT``
plus this module's); ``SimControl.strict_org()`` applies it to the running org.
"""

from __future__ import annotations

import os
from typing import Any

from . import realorg
from .errors import ApiError
from .schema import TEXT_TYPES, Field

DEFAULTS: dict[str, Any] = {
    "view_setup": True,
    "read_only_fields": [],
    "text_name_objects": [],
    "blank_is_null": True,
    "hidden_contact": False,
}
# Keys whose change reshapes the org (applied by ``apply``).
SCHEMA_KEYS = {"read_only_fields", "text_name_objects", "hidden_contact"}
HIDDEN_CONTACT = {"FirstName": "Hidden", "LastName": "Donor", "Email": "hidden.donor@example.org"}

STRICT_ORG: dict[str, Any] = {
    **realorg.STRICT,
    "view_setup": False,
    "read_only_fields": ["ThankView__c.Views__c"],
    "text_name_objects": ["ThankView__c"],
    "hidden_contact": True,
}


def strict_from_env() -> dict[str, Any]:
    """``STRICT_ORG`` when ``SFSIM_STRICT_ORG=1`` (``make test-strict``), else no switch: the
    test fixtures that start a simulator pass this to ``start``, so a whole suite runs in
    the strictest org."""
    return dict(STRICT_ORG) if os.environ.get("SFSIM_STRICT_ORG") == "1" else {}


def limits_refused() -> ApiError:
    """``GET /limits`` for a user without View Setup and Configuration.

    REST API Developer Guide, "Limits": the resource "is available ... for API users with the
    View Setup and Configuration permission". The docs are silent on the refusal's shape;
    client projects report a 403 with API_DISABLED_FOR_ORG, so that is what we answer: the
    hardest case for a client, which must not read it as "the API is disabled".
    """
    return ApiError(403, "API_DISABLED_FOR_ORG",
                    "The Limits resource is not available to this user: it needs the View Setup and Configuration permission.")


def blank_to_null(org, f: Field, value: Any) -> Any:
    """``""`` for a text field is null (Object Reference, "Required Fields": a required field
    must have a non-null value; text fields are never stored empty, so an empty string is
    null and a required one fails REQUIRED_FIELD_MISSING)."""
    if value == "" and f.type in TEXT_TYPES and org.config.get("blank_is_null", True):
        return None
    return value


def apply(org) -> None:
    """Reshape the org after the schema keys of its config (idempotent)."""
    for spec in org.config.get("read_only_fields") or []:
        obj_name, _, field_name = spec.partition(".")
        obj = org.sobject(obj_name)
        f = obj.field(field_name) if obj else None
        if f is None:
            raise ValueError(f"read_only_fields: no field {spec!r}")
        f.createable = f.updateable = False
        obj.schema_changed()
    for obj_name in org.config.get("text_name_objects") or []:
        obj = org.sobject(obj_name)
        if obj is None:
            raise ValueError(f"text_name_objects: no object {obj_name!r}")
        text_name(obj)
    if org.config.get("hidden_contact"):
        hide_contact(org)


def hide_contact(org) -> None:
    """Private sharing with one Contact the integration user cannot see (``realorg.visible``)."""
    contact = org.sobject("Contact")
    email = HIDDEN_CONTACT["Email"]
    found = [r for r in contact.records.values() if (r.values.get("Email") or "").lower() == email]
    rec_id = found[0].id if found else org.seed(contact, [dict(HIDDEN_CONTACT)])[0]
    org.hidden.add(rec_id[:15])


def text_name(obj) -> None:
    """Make ``obj``'s Name a Text(80) field, as an admin who creates an object in Setup gets
    by default.

    Describe flags as for Account.Name in the REST API Developer Guide's describe example
    (reference §2.5): ``type`` string, ``nameField`` true, ``autoNumber`` false,
    ``createable``/``updateable`` true, ``nillable`` false, ``defaultedOnCreate`` false, so
    a client's "required on create" rule counts it as required. Salesforce Help's custom
    object wizard ("Record Name": Text or Auto Number) does not document what the API does
    when Name is omitted; Q&A threads report that the record's Id becomes its Name, which is
    what the simulator does (``name_from_id``).
    """
    old = obj.field("Name")
    if old is not None and old.type == "string" and not old.auto_number and old.createable:
        return
    label = old.label if old is not None else f"{obj.label} Name"
    if old is not None:
        obj.remove_field("Name")
    obj.add_field(Field("Name", "string", label=label, length=80, nillable=False, createable=True, updateable=True,
                        defaulted_on_create=False, auto_number=False, name_field=True))
    obj.auto_number_format = None
    obj.name_from_id = True
