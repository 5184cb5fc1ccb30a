"""Validating task submissions against their JSON Schema forms."""
from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from jsonschema import FormatChecker, validators
from jsonschema.exceptions import SchemaError, ValidationError
from sqlalchemy import select

from app.engine.limits import MAX_DECIMAL_EXPONENT as _SCRIPT_DECIMAL_EXPONENT
from app.extensions import db
from app.models import FormVersion
from app.services import clock
from app.services.context import business_tz, gettext, language
from app.services.context import lazy_gettext as _l
from app.services.errors import Invalid
from app.services.workflow import labels
from app.services.workflow.runtime import runtime

# The largest decimal exponent a submitted number may have: the scripts' own limit, so a number a
# form accepts never makes a diagram script's arithmetic on it slow.
MAX_DECIMAL_EXPONENT: int = _SCRIPT_DECIMAL_EXPONENT


# A choice field whose choices the process gives (`form_choices`), when it gave none.
NO_CHOICES = _l("There is nothing to choose from: the process has not provided the choices for this field.")


def _field_name(path: Any) -> str:
    return ".".join(str(p) for p in path) or "_form"


def _message(error: ValidationError) -> str:
    """A message a person can act on, in their language; jsonschema's own text as the fallback."""
    rule, limit = error.validator, error.validator_value
    own = labels.localized(error.schema, "errorMessage", language()) if isinstance(error.schema, dict) else None
    if own and rule in ("pattern", "format", "minimum", "maximum"):  # the form's own words for its rule
        return str(own)
    if rule == "required":
        return gettext("This field is required.")
    if rule == "enum" and not limit:  # choices from the task's data (form_choices) that it did not hold
        return str(NO_CHOICES)
    if rule == "enum":  # the choices as the form names them to the reader, else their values
        named = labels.choice_labels(error.schema, language()) if isinstance(error.schema, dict) else None
        return gettext("Choose one of: %(options)s.", options=", ".join(str(v) for v in named or limit))
    if rule == "minimum":
        return gettext("Must be at least %(limit)s.", limit=limit)
    if rule == "maximum":
        return gettext("Must be at most %(limit)s.", limit=limit)
    if rule == "exclusiveMinimum":
        return gettext("Must be more than %(limit)s.", limit=limit)
    if rule == "minLength":
        return gettext("Needs at least %(limit)s character(s).", limit=limit)
    if rule == "maxLength":
        return gettext("At most %(limit)s characters.", limit=limit)
    if rule == "minItems":
        return gettext("Choose at least %(limit)s.", limit=limit)
    if rule == "maxItems":
        return gettext("Choose at most %(limit)s.", limit=limit)
    if rule == "uniqueItems":
        return gettext("Each may be chosen only once.")
    if rule == "pattern":
        return gettext("This is not in the expected format.")
    if rule == "type":
        return gettext("Must be of type %(type)s.", type=limit)
    if rule == "additionalProperties":
        return gettext("Unexpected field(s): %(detail)s", detail=error.message.split("(")[-1].rstrip(")"))
    if rule == "format" and limit == "date":
        return gettext("Must be a date written as YYYY-MM-DD.")
    if rule == "format":
        return gettext("Must be a valid %(format)s.", format=limit)
    if rule == "const":  # a box that must be ticked (a consent), or a value that must be given as it is
        return gettext("Please confirm.") if limit is True else gettext("Must be %(value)s.", value=limit)
    return str(error.message)


# Formats a submission is held to (JSON Schema only annotates them unless asked): a `format: date`
# field is a real calendar date as YYYY-MM-DD (2026-13-45 was kept and shown as a registration date).
CHECKED_FORMATS = FormatChecker(formats=("date",))


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        return None
    try:
        found = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        return None
    return found if found.is_finite() else None


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return None


def _over_bounds(schema: dict[str, Any], data: dict[str, Any], shown: dict[str, Any]) -> dict[str, list[str]]:
    """Bounds JSON Schema cannot say, on a form's fields, from the values the task holds (its key data, captured
    when it became ready; a value the task does not hold bounds nothing): `equalsFrom` — that value, spaces aside
    (an account number typed again as a check of the one the deal names); `maximumFrom` — at most that value (an
    approved amount at most the amount applied for); on a date, `notAfter: "today"` (a contact that happened)
    or `notBefore: "today"` (a promise to pay), today in the business time zone, and `notAfter: "today+P30D"`
    (a promise within 30 days; `P3Y`: 3 years, `P6M`: 6 months); `productOf` — the product of
    those values, the form's own or the task's (an appraised value: the value per unit times the quantity),
    within the share `productWithin` of it (0: to the cent)."""
    fields: dict[str, list[str]] = {}
    today = clock.now().astimezone(business_tz()).date()
    for name, spec in (schema.get("properties") or {}).items():
        if not isinstance(spec, dict):
            continue
        if isinstance(spec.get("maximumFrom"), str):
            given, bound = _decimal(data.get(name)), _decimal(shown.get(spec["maximumFrom"]))
            if given is not None and bound is not None and given > bound:
                limit = f"{bound:,}" if spec.get("type") == "string" else bound  # as the task holds it: 600,000.00, 300
                fields[name] = [gettext("Must be at most %(limit)s.", limit=limit)]
        if isinstance(spec.get("equalsFrom"), str):
            held, given_text = shown.get(spec["equalsFrom"]), data.get(name)
            if held not in (None, "") and isinstance(given_text, str) and "".join(given_text.split()) != "".join(
                    str(held).split()):
                fields[name] = [gettext("Must match %(value)s, which the task shows.", value=held)]
        if isinstance(spec.get("productOf"), list) and (off := _off_product(spec, data.get(name), data, shown)):
            fields[name] = [off]
        day = _day(data.get(name))
        if day is not None and spec.get("notAfter") == "today" and day > today:
            fields[name] = [gettext("Must be today (%(today)s) or earlier.", today=today.isoformat())]
        if day is not None and spec.get("notBefore") == "today" and day < today:
            fields[name] = [gettext("Must be today (%(today)s) or later.", today=today.isoformat())]
        if day is not None and (far := _too_far(spec.get("notAfter"), day, today)):
            fields[name] = [far]
    return fields


# `"notAfter": "today+P30D"`: at most a period after today (a promise to pay within 30 days, an order due within
# 3 years), said with the period in the reader's words
def _too_far(bound: Any, day: date, today: date) -> str | None:
    """What is wrong with `day` under `"notAfter": "today+P<n><D|M|Y>"`; None when nothing is (or no such bound)."""
    if not (isinstance(bound, str) and bound.startswith("today+")):
        return None
    period = bound.removeprefix("today+")
    limit = clock.ahead(today, period)
    if limit is None or day <= limit:
        return None
    n, unit, at_most = int(period[1:-1]), period[-1], limit.isoformat()
    if unit == "D":
        return gettext("Must be at most %(n)s days from today: %(limit)s or earlier.", n=n, limit=at_most)
    if unit == "M":
        return gettext("Must be at most %(n)s months from today: %(limit)s or earlier.", n=n, limit=at_most)
    return gettext("Must be at most %(n)s years from today: %(limit)s or earlier.", n=n, limit=at_most)


def _off_product(spec: dict[str, Any], value: Any, data: dict[str, Any], shown: dict[str, Any]) -> str | None:
    """What is wrong with `value` as the product of the values `spec["productOf"]` names; None when nothing is
    (or when it, a factor or the share is not a number: the field's own checks say so)."""
    given, within = _decimal(value), _decimal(spec.get("productWithin", 0))
    names = [f for f in spec["productOf"] if isinstance(f, str)]
    factors = [found for f in names if (found := _decimal(data[f] if f in data else shown.get(f))) is not None]
    if given is None or within is None or not names or len(factors) != len(names):
        return None
    product = Decimal(1)
    for factor in factors:
        product *= factor
    if abs(given - product) <= abs(product) * within:
        return None
    expected = f"{product.quantize(Decimal('0.01')):,}"
    how = " × ".join(f"{f:,}" for f in factors)
    if within:
        return gettext("Must be within %(share)s%% of %(value)s (%(factors)s).", share=f"{(within * 100).normalize():f}",
                       value=expected, factors=how)
    return gettext("Must be %(value)s (%(factors)s).", value=expected, factors=how)


def validate_submission(schema: dict[str, Any] | None, data: Any, shown: dict[str, Any] | None = None,
                        answered_elsewhere: bool = False) -> None:
    """Raise `Invalid` with per-field messages unless `data` satisfies the form's JSON Schema, and each field's
    `maximumFrom` bound the task's values (`shown`) give it. `answered_elsewhere`: the person answered by another
    action a service stands for (a resubmitted application answers the funder's request), so the form's top-level
    required fields are not asked; what is given is still checked."""
    if not isinstance(data, dict):
        raise Invalid(_l("The form's data must be a JSON object."), fields={"data": [_l("Must be an object.")]})
    if schema is None:
        return
    if answered_elsewhere:
        schema = {**schema, "required": []}
    cls = validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        raise Invalid(_l("The task's form is not a valid JSON Schema: %(problem)s", problem=exc.message),
                      code="form_broken") from exc
    fields: dict[str, list[str]] = {}
    for error in sorted(cls(schema, format_checker=CHECKED_FORMATS).iter_errors(data),
                        key=lambda e: list(e.absolute_path)):
        path = list(error.absolute_path)
        if error.validator == "required":
            # jsonschema reports a missing property on its parent; name the property itself.
            missing = error.message.split("'")[1] if "'" in error.message else ""
            path = [*path, missing] if missing else path
        elif path and isinstance(path[-1], int) and not isinstance(error.instance, dict):
            path = path[:-1]  # one of a list's values (a choice ticked, a file): said at the list's field
        fields.setdefault(_field_name(path), []).append(_message(error))
    for name, said in _over_bounds(schema, data, shown or {}).items():
        fields.setdefault(name, said)  # a field its schema refused already says that first
    if fields:
        raise Invalid(_l("The form has errors: see the fields."), fields=fields, code="form_invalid")


def display_kinds(forms: list[dict[str, Any]]) -> dict[str, str]:
    """Which data fields these forms show as money or dates: {field: "money" | "date"}.

    From UI schemas (`ui:widget: money` / `date`) and JSON Schemas (`format: date`), fields inside
    arrays of objects included, so pages can format the instance's key data by locale.
    """
    kinds: dict[str, str] = {}

    def walk(node: Any) -> None:
        if not isinstance(node, dict):
            return
        for name, value in node.items():
            if not isinstance(value, dict):
                continue
            widget, fmt = value.get("ui:widget"), value.get("format")
            if widget == "money":
                kinds[name] = "money"
            elif (widget == "date" or fmt == "date") and kinds.get(name) != "money":
                kinds[name] = "date"
            walk(value)

    for form in forms:
        walk(form)
    return kinds


def forms_by_id(ids: list[int]) -> dict[int, dict]:
    """Form contents by form_versions id, cached: a stored form version never changes."""
    cache = runtime().form_contents
    missing = [i for i in ids if i not in cache]
    if missing:
        for form_id, content in db.session.execute(
                select(FormVersion.id, FormVersion.content).where(FormVersion.id.in_(missing))):
            cache[form_id] = content
    return {i: cache[i] for i in ids if i in cache}
