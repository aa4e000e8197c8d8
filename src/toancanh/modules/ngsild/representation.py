"""NGSI-LD entity representations: validation of what callers send, and normalized / keyValues output.

Stored attributes keep the NGSI-LD member names (type, value, object, observedAt, unitCode, datasetId,
createdAt, modifiedAt ...) as they are and every attribute and sub-attribute name expanded to its IRI.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from toancanh.modules.ngsild.context import Context
from toancanh.modules.ngsild.errors import bad_data

ATTR_TYPES = ("Property", "Relationship", "GeoProperty", "LanguageProperty")
MEMBERS = frozenset(
    {
        "type",
        "value",
        "object",
        "objectType",
        "languageMap",
        "observedAt",
        "unitCode",
        "datasetId",
        "createdAt",
        "modifiedAt",
        "instanceId",
    }
)
SYSTEM = frozenset({"createdAt", "modifiedAt", "instanceId"})
GEO_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
LOCATION = "https://uri.etsi.org/ngsi-ld/location"
GEO_NAMES = frozenset(
    {LOCATION, "https://uri.etsi.org/ngsi-ld/observationSpace", "https://uri.etsi.org/ngsi-ld/operationSpace"}
)
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"]+$")
_BAD_NAME = re.compile(r"[\s<>\"'=;()\[\]]")


def now_iso() -> str:
    return iso(datetime.now(UTC))


def iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def is_uri(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 512 and bool(_URI.match(value))


def check_datetime(value: Any, what: str) -> None:
    if not isinstance(value, str):
        raise bad_data(f"{what} must be a DateTime string")
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise bad_data(f"{what} is not an ISO 8601 DateTime: {value!r}") from None
    if "T" not in value or t.tzinfo is None:
        raise bad_data(f"{what} must be a UTC DateTime such as 2026-01-01T00:00:00Z")


def _is_geometry(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") in GEO_TYPES and "coordinates" in value


def check_name(name: str) -> None:
    if not name or len(name) > 512 or _BAD_NAME.search(name):
        raise bad_data(f"invalid attribute name {name!r}")


def expand_entity(body: Any, ctx: Context, *, need_id: bool = True) -> tuple[str, list[str], dict[str, Any]]:
    """Validate an entity sent by a caller; returns (id, expanded types, expanded attributes)."""
    if not isinstance(body, dict):
        raise bad_data("an entity must be a JSON object")
    entity_id = body.get("id", body.get("@id"))
    if need_id and not is_uri(entity_id):
        raise bad_data("the entity id must be a URI")
    raw_type = body.get("type", body.get("@type"))
    types = raw_type if isinstance(raw_type, list) else [raw_type]
    if not types or not all(isinstance(t, str) and t and not _BAD_NAME.search(t) for t in types):
        raise bad_data("the entity type must be a name or a list of names")
    expanded_types = list(dict.fromkeys(ctx.expand(t) for t in types))
    attrs = expand_attributes(
        {k: v for k, v in body.items() if k not in ("id", "@id", "type", "@type", "@context")}, ctx
    )
    return str(entity_id or ""), expanded_types, attrs


def expand_attributes(fragment: dict[str, Any], ctx: Context, *, stamp: str | None = None) -> dict[str, Any]:
    """Validate and expand a set of attributes; each instance gets createdAt/modifiedAt = `stamp`."""
    stamp = stamp or now_iso()
    out: dict[str, Any] = {}
    for name, raw in fragment.items():
        if name in ("createdAt", "modifiedAt"):
            continue  # system attributes; a caller cannot set them
        check_name(name)
        iri = ctx.expand(name)
        if isinstance(raw, list) and raw and all(isinstance(x, dict) for x in raw):
            instances = [expand_instance(iri, x, ctx, stamp) for x in raw]
            ids = [i.get("datasetId") for i in instances]
            if len(set(map(str, ids))) != len(ids):
                raise bad_data(f"attribute {name!r} repeats a datasetId")
            out[iri] = instances[0] if len(instances) == 1 else instances
        else:
            out[iri] = expand_instance(iri, raw, ctx, stamp)
    return out


def expand_instance(iri: str, raw: Any, ctx: Context, stamp: str) -> dict[str, Any]:
    """One attribute instance, normalized; concise forms (a bare value, {"value": ..}, {"object": ..}) too."""
    if not isinstance(raw, dict):
        if raw is None:
            raise bad_data(f"attribute {ctx.compact(iri)!r} has a null value")
        raw = {"value": raw}
    inst = dict(raw)
    kind = inst.get("type")
    if kind not in ATTR_TYPES:
        if "type" in inst and any(k in inst for k in ("value", "object", "languageMap")):
            raise bad_data(f"attribute {ctx.compact(iri)!r}: type must be one of {', '.join(ATTR_TYPES)}")
        if "object" in inst:
            kind = "Relationship"
        elif "languageMap" in inst:
            kind = "LanguageProperty"
        elif "value" in inst:
            kind = "GeoProperty" if iri in GEO_NAMES and _is_geometry(inst["value"]) else "Property"
        else:  # concise form of a JSON object value
            geo = iri in GEO_NAMES and _is_geometry(raw)
            inst, kind = {"value": dict(raw)}, "GeoProperty" if geo else "Property"
    if kind not in ATTR_TYPES:
        raise bad_data(f"attribute {ctx.compact(iri)!r}: type must be one of {', '.join(ATTR_TYPES)}")
    inst["type"] = kind
    name = ctx.compact(iri)
    if kind == "Property":
        if inst.get("value") is None:
            raise bad_data(f"Property {name!r} needs a value")
    elif kind == "GeoProperty":
        if not _is_geometry(inst.get("value")):
            raise bad_data(f"GeoProperty {name!r} needs a GeoJSON geometry value")
        from toancanh.modules.ngsild.geoquery import bounds_of

        if bounds_of(inst["value"]) is None:
            raise bad_data(f"GeoProperty {name!r} has an invalid geometry")
    elif kind == "Relationship":
        obj = inst.get("object")
        if not (is_uri(obj) or (isinstance(obj, list) and obj and all(is_uri(o) for o in obj))):
            raise bad_data(f"Relationship {name!r} needs an object URI")
    elif not isinstance(inst.get("languageMap"), dict):
        raise bad_data(f"LanguageProperty {name!r} needs a languageMap")
    if iri in GEO_NAMES and kind != "GeoProperty":
        raise bad_data(f"{name!r} must be a GeoProperty")
    if "observedAt" in inst:
        check_datetime(inst["observedAt"], f"{name}.observedAt")
    if "unitCode" in inst and not isinstance(inst["unitCode"], str):
        raise bad_data(f"{name}.unitCode must be a string")
    if "datasetId" in inst and not is_uri(inst["datasetId"]):
        raise bad_data(f"{name}.datasetId must be a URI")
    out: dict[str, Any] = {}
    for key, val in inst.items():
        if key in SYSTEM:
            continue
        if key in MEMBERS or key == "@context":
            if key != "@context":
                out[key] = val
            continue
        check_name(key)
        sub_iri = ctx.expand(key)
        out[sub_iri] = expand_instance(sub_iri, val, ctx, stamp)
    out["createdAt"] = stamp
    out["modifiedAt"] = stamp
    return out


# ------------------------------------------------------------------------------------------------ output


def compact_entity(
    entity_id: str,
    types: list[str],
    attrs: dict[str, Any],
    ctx: Context,
    *,
    key_values: bool = False,
    sys_attrs: bool = False,
    pick: set[str] | None = None,
    created: str | None = None,
    modified: str | None = None,
) -> dict[str, Any]:
    """An entity in the caller's terms: normalized (default) or keyValues; `pick` limits the attributes."""
    ctypes = [ctx.compact(t) for t in types]
    out: dict[str, Any] = {"id": entity_id, "type": ctypes[0] if len(ctypes) == 1 else ctypes}
    if sys_attrs and not key_values:
        if created:
            out["createdAt"] = created
        if modified:
            out["modifiedAt"] = modified
    for iri, value in attrs.items():
        if pick is not None and iri not in pick:
            continue
        name = ctx.compact(iri)
        if isinstance(value, list):
            items = [compact_instance(v, ctx, key_values, sys_attrs) for v in value]
            out[name] = items
        else:
            out[name] = compact_instance(value, ctx, key_values, sys_attrs)
    return out


def compact_instance(inst: dict[str, Any], ctx: Context, key_values: bool, sys_attrs: bool) -> Any:
    if key_values:
        return simple_value(inst)
    out: dict[str, Any] = {}
    for key, val in inst.items():
        if key in MEMBERS:
            if key in SYSTEM and not sys_attrs:
                continue
            out[key] = val
        elif isinstance(val, dict):
            out[ctx.compact(key)] = compact_instance(val, ctx, False, sys_attrs)
        elif isinstance(val, list):
            out[ctx.compact(key)] = [compact_instance(v, ctx, False, sys_attrs) for v in val]
    return out


def simple_value(inst: dict[str, Any]) -> Any:
    kind = inst.get("type")
    if kind == "Relationship":
        return inst.get("object")
    if kind == "LanguageProperty":
        return {"languageMap": inst.get("languageMap")}
    return inst.get("value")
