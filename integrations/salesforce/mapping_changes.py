"""Changing a portal's field mappings from the settings page: the fields a mapping can target
(from a fresh describe of ``ThankView__c``), save (checked against that describe) and remove. Each change re-runs the setup checklist, so a
fixed mapping clears its banner at once.

Kept apart from ``mapping.py`` (sources, values, type checks), which the connection check
itself reads: this module sits above ``connection.py``, that one below it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from ..models import FieldMapping
from .banners import connection_record_error
from .client import SalesforceClient
from .connection import connection_check
from .errors import SalesforceError
from .mapping import type_label, type_problem
from .schema import OBJECT, SYNC_OWNED, describe_from_cache, field_info


class MappingRefused(Exception):
    pass


@dataclass(frozen=True)
class FieldOption:
    name: str
    label: str
    type_label: str


def mapping_field_options(*, connection, mapping: FieldMapping | None) -> tuple[list[FieldOption], dict]:
    """The fields a mapping can target, from a fresh describe (returned too, for the save):
    writable, not a lookup or formula, not filled by the sync, not mapped already. The
    mapping's own field stays listed, also when Salesforce no longer has it. When Salesforce
    does not answer, the fields as last checked are listed (and None returned: the save
    describes again)."""
    try:
        describe = fresh = _fresh_describe(connection)
    except MappingRefused:
        describe, fresh = describe_from_cache(connection.schema_cache), None
        if describe is None:
            raise
    taken = {m.target_field.lower() for m in FieldMapping.objects.filter(portal=connection.portal, enabled=True)}
    own = mapping.target_field.lower() if mapping else ""
    options = sorted(
        (FieldOption(f["name"], f.get("label") or f["name"], type_label(f)) for f in describe.get("fields", [])
         if _mappable(f, connection) and (f["name"].lower() not in taken or f["name"].lower() == own)),
        key=lambda o: o.label.lower(),
    )
    if mapping and own not in {o.name.lower() for o in options}:
        options.insert(0, FieldOption(mapping.target_field, mapping.target_field, "not in Salesforce any more"))
    return options, fresh


def _mappable(f: dict, connection) -> bool:
    name = f["name"]
    return (
        bool(f.get("createable")) and not f.get("calculated") and not f.get("autoNumber")
        and f.get("type") not in ("reference", "id")
        and name not in SYNC_OWNED and name.lower() != connection.contact_lookup_field.lower()
    )


def mapping_save(*, connection, mapping: FieldMapping | None, target_field: str, source: str,
                 constant_value: str = "", describe: dict | None = None) -> FieldMapping:
    """Create or retarget a mapping after checking it against a fresh describe (``describe``
    when the caller just read one).

    Refuses (``MappingRefused``) a field that does not exist, is not createable, is a lookup
    or is owned by the sync, a type that would not fit, and a second mapping to the same field.
    """
    target_field = target_field.strip()
    if target_field in SYNC_OWNED or target_field.lower() == connection.contact_lookup_field.lower():
        raise MappingRefused(f"ThankView fills {target_field} itself; it cannot be mapped.")
    describe = describe or _fresh_describe(connection)
    f = field_info(describe, target_field)
    if f is None:
        raise MappingRefused(f"{OBJECT} has no field {target_field}. Check the API name (it ends in __c).")
    target_field = f["name"]  # canonical case
    other = _same_target(connection.portal, target_field, mapping)
    if other is not None and other.enabled:
        raise MappingRefused(f"{target_field} already has a mapping; edit that one instead.")
    problem = type_problem(source, f, constant_value=constant_value)
    if problem:
        raise MappingRefused(problem)
    with transaction.atomic():
        if other is not None:  # a removed mapping to this field: replace it
            other.delete()
        if mapping is None:
            mapping = FieldMapping(portal=connection.portal)
        mapping.target_field = target_field
        mapping.source = source
        mapping.constant_value = constant_value if source == FieldMapping.Source.CONSTANT else ""
        mapping.enabled = True
        mapping.save()
    # The describe is fresh: re-run the checklist so a fixed mapping clears its banner.
    connection_check(connection=connection, describe=describe)
    return mapping


def mapping_remove(*, connection, mapping: FieldMapping) -> None:
    """Stop sending a field (kept as a disabled row, so the default does not come back)."""
    FieldMapping.objects.filter(pk=mapping.pk).update(enabled=False, updated_at=timezone.now())
    # Re-evaluate the banner from the cached describe: removing a mapping to a deleted
    # field fixes the problem without asking Salesforce again.
    describe = describe_from_cache(connection.schema_cache)
    if connection.schema_cache:
        connection_check(connection=connection, describe=describe or {})


def _fresh_describe(connection) -> dict:
    try:
        describe = SalesforceClient(connection).describe_or_none(OBJECT)
    except SalesforceError as e:
        connection_record_error(connection=connection, error=e)
        raise MappingRefused(f"Could not read the {OBJECT} fields from Salesforce: {e.user_message} ({e.code})") from e
    if describe is None:
        raise MappingRefused(f"Salesforce has no {OBJECT} object; create it first (see the checklist).")
    return describe


def _same_target(portal, target_field: str, mapping: FieldMapping | None) -> FieldMapping | None:
    """Another mapping row (enabled or removed) of this portal to the same field."""
    clash = FieldMapping.objects.filter(portal=portal, target_field__iexact=target_field)
    if mapping is not None:
        clash = clash.exclude(pk=mapping.pk)
    return clash.first()
