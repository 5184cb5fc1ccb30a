"""What Camunda's REST API reads and writes, as Loanflow reads and writes it: JSON bodies, typed variables, moments,
and the ids of its resources (`/engine-rest`)."""
from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from flask import request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from app.api.field_messages import said
from app.api.json_body import loads
from app.services.errors import Invalid, NotFound
from app.text_input import is_whole

T = TypeVar("T")
INTEGER_RANGE = {"Integer": 2**31, "Short": 2**15, "Long": 2**63}


def read_json(raw: bytes | str) -> Any:
    """Standard JSON as the API reads it (`json_body.loads`: no NaN, no NUL, nested at most 64 deep); `Invalid`."""
    try:
        return loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    except UnicodeDecodeError:
        raise Invalid(gettext("Invalid JSON body: %(reason)s.", reason=gettext("not UTF-8"))) from None
    except json.JSONDecodeError as exc:
        raise Invalid(gettext("Invalid JSON body: %(reason)s.", reason=said(exc.msg))) from None


def body() -> dict[str, Any]:
    """The request's JSON object (an empty body: `{}`)."""
    raw = request.get_data(cache=True)
    found = read_json(raw) if raw.strip() else {}
    if not isinstance(found, dict):
        raise Invalid(_l("The request's body is a JSON object."))
    return found


def text(given: dict[str, Any], name: str, required: bool = False, most: int = 255) -> str:
    """A text field of the body ("" when absent and not required)."""
    value = given.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value) or len(value) > most:
        raise Invalid(_l("The request is not valid."), {name: [_l("1 to %(most)s characters", most=most)]})
    return value


def flag(given: dict[str, Any], name: str) -> bool:
    value = given.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise Invalid(_l("The request is not valid."), {name: [_l("true or false")]})
    return value


PAGING = ("firstResult", "maxResults")
HARMLESS = ("withoutTenantId", "deserializeValues")  # Loanflow has no tenants; values are always JSON


def only_filters(*names: str) -> None:
    """Refuse a query parameter the route does not filter by (400 naming it): a filter ignored would answer more
    than was asked, as if it had been applied."""
    taken = {*names, *PAGING, *HARMLESS}
    unknown = sorted(name for name in request.args if name not in taken)
    if unknown:
        raise Invalid(_l("Loanflow does not take %(names)s here: it takes %(taken)s (and pages with firstResult, "
                         "maxResults).", names=", ".join(unknown), taken=", ".join(names)),
                      {name: [_l("not taken here")] for name in unknown})


SORTING = ("sortBy", "sortOrder")


def sorting(keys: Mapping[str, str]) -> list[tuple[str, bool]]:
    """Camunda's `sortBy` and `sortOrder` (both or neither) as the list's order: `keys` maps each `sortBy` the route
    sorts by to its list's key; [] when not asked (the list's own order)."""
    by, order = request.args.get("sortBy"), request.args.get("sortOrder")
    if by is None and order is None:
        return []
    if by is None or order is None:
        raise Invalid(_l("Only a single sorting parameter specified. sortBy and sortOrder required"),
                      {"sortOrder" if order is None else "sortBy": [_l("Required with the other.")]})
    if by not in keys:
        raise Invalid(_l("Loanflow does not sort by %(name)s here: it sorts by %(keys)s.", name=by,
                         keys=", ".join(keys)), {"sortBy": [_l("One of %(keys)s.", keys=", ".join(keys))]})
    if order not in ("asc", "desc"):
        raise Invalid(_l("The request is not valid."), {"sortOrder": [_l("asc or desc")]})
    return [(keys[by], order == "desc")]


def query_flag(name: str) -> bool | None:
    """A true/false query parameter (`unassigned=true`); None when not given."""
    given = request.args.get(name)
    if given is None:
        return None
    if given not in ("true", "false"):
        raise Invalid(_l("The request is not valid."), {name: [_l("true or false")]})
    return given == "true"


def number_id(found: str, missing: Any) -> int:
    """A resource's id in the path: Loanflow's ids are whole numbers; anything else is `missing` (NotFound)."""
    if not is_whole(found) or len(found) > 18:
        raise NotFound(missing)
    return int(found)


def whole(args: Any, name: str, default: int) -> int:
    """A whole-number query parameter (`firstResult`, `maxResults`)."""
    given = args.get(name)
    if given is None or given == "":
        return default
    if not is_whole(given) or len(given) > 9:
        raise Invalid(_l("The request is not valid."), {name: [_l("A whole number, 0 or more.")]})
    return int(given)


def by_id(text: str, missing: Any, read: Callable[[int], T]) -> T:
    """The resource whose id the path gives, as `read` reads it; Camunda's 404 in `missing`'s words whether the id is
    no number or `read` finds nothing the caller may see."""
    try:
        return read(number_id(text, missing))
    except NotFound:
        raise NotFound(missing) from None


def variables(given: Any, field: str = "variables") -> dict[str, Any]:
    """Camunda's typed variables (`{"name": {"value", "type"}}`) as the instance's data; `Invalid` by name."""
    if given is None:
        return {}
    if not isinstance(given, dict):
        raise Invalid(_l("The request is not valid."), {field: [_l("An object of variables by name.")]})
    data: dict[str, Any] = {}
    errors: dict[str, list[Any]] = {}
    for name, each in given.items():
        try:
            data[name] = _value(each)
        except ValueError as exc:
            errors[f"{field}.{name}"] = [str(exc)]
    if errors:
        raise Invalid(_l("The request is not valid."), errors)
    return data


def files(given: Any, field: str = "variables") -> tuple[dict[str, tuple[str, bytes]], Any]:
    """Camunda's File variables (`{"type": "File", "value": <base64>, "valueInfo": {"filename"}}`) taken out of
    `given`: each by name as (file name, bytes); and the other variables, for `variables`."""
    if not isinstance(given, dict):
        return {}, given
    found: dict[str, tuple[str, bytes]] = {}
    rest: dict[str, Any] = {}
    for name, each in given.items():
        if not (isinstance(each, dict) and str(each.get("type") or "").capitalize() == "File"):
            rest[name] = each
            continue
        info, encoded = each.get("valueInfo"), each.get("value")
        filename = info.get("filename") if isinstance(info, dict) else None
        try:
            content = base64.b64decode(encoded, validate=True) if isinstance(encoded, str) else b""
        except binascii.Error:
            content = b""
        if not isinstance(filename, str):
            filename = ""
        if not content:
            raise Invalid(_l("The request is not valid."), {f"{field}.{name}": [_l(
                "A File variable's value is the file in base64, its valueInfo.filename the file's name.")]})
        found[name] = ((filename or name)[:255], content)
    return found, rest


def _value(given: Any) -> Any:
    if not isinstance(given, dict) or "value" not in given and given.get("type") != "Null":
        raise ValueError(gettext("A variable is an object with its value and type."))
    value, kind = given.get("value"), str(given.get("type") or "").capitalize()
    if value is None or kind == "Null":
        return None
    if not kind:  # as Camunda: the JSON value's own type
        return value
    if kind == "String" and isinstance(value, str):
        return value
    if kind == "Boolean" and isinstance(value, bool):
        return value
    if kind in INTEGER_RANGE and isinstance(value, int) and not isinstance(value, bool):
        if not -INTEGER_RANGE[kind] <= value < INTEGER_RANGE[kind]:
            raise ValueError(gettext("%(value)s is out of range for %(type)s.", value=value, type=kind))
        return value
    if kind == "Double" and isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if kind == "Date" and isinstance(value, str):
        return value
    if kind == "Json" and isinstance(value, str):
        try:
            return loads(value)
        except json.JSONDecodeError:
            raise ValueError(gettext("The Json variable's value is not JSON.")) from None
    if kind == "File":
        raise ValueError(gettext("A File variable answers a file field of a task's form, and nothing else."))
    if kind in ("Object", "Bytes", "Xml"):
        raise ValueError(gettext("Loanflow does not take %(type)s variables: send the value as JSON, String or a "
                                 "number.", type=kind))
    raise ValueError(gettext("The value does not fit the type %(type)s.", type=kind))


def camunda_time(at: Any) -> str | None:
    """A moment as Camunda's API writes one (its Java clients read `yyyy-MM-dd'T'HH:mm:ss.SSSZ`)."""
    return None if at is None else at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}+0000"


def typed(value: Any) -> dict[str, Any]:
    """A value as Camunda types a variable."""
    if value is None:
        kind = "Null"
    elif isinstance(value, bool):
        kind = "Boolean"
    elif isinstance(value, int):
        kind = "Integer" if -2**31 <= value < 2**31 else "Long"
    elif isinstance(value, float):
        kind = "Double"
    elif isinstance(value, str):
        kind = "String"
    else:
        return {"value": json.dumps(value, ensure_ascii=False), "type": "Json", "valueInfo": {}}
    return {"value": value, "type": kind, "valueInfo": {}}


def typed_all(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: typed(value) for name, value in data.items()}
