"""Reading commodity prices from a JSON body or a CSV file: every row checked, every fault named by
its row and field (JSON `prices.<index>.<field>`, 0-based as in the body; CSV `line <n>.<field>`,
the file's line, the header being line 1). Nothing is stored here; one fault refuses the upload."""
from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from app.services.context import lazy_gettext as _l
from app.services.errors import Invalid, Text

FIELDS = ("goods", "unit", "price", "as_of")
MAX_ROWS = 5000
MAX_CSV_BYTES = 1024 * 1024
CENT = Decimal("0.01")
# Prices stay below ten billion a unit: their values and LTVs keep 15 significant digits, which SQLite's
# numeric storage (a double) holds exactly, as PostgreSQL does.
MAX_PRICE = Decimal(10) ** 10
MESSAGES: dict[str, Text] = {
    "goods": _l("The goods' name: 1 to 200 characters."),
    "unit": _l("The unit the price is per, such as t or kg: 1 to 20 characters."),
    "price": _l("A price above zero and below 10,000,000,000 with at most two decimals, such as 4200.00."),
    "as_of": _l("The price's date (YYYY-MM-DD), today or earlier."),
    "unknown": _l("Not a field of a price: give goods, unit, price and as_of."),
}
REFUSED = _l("Some prices are missing or wrong; nothing was stored.")


@dataclass(frozen=True)
class PriceRow:
    goods: str
    unit: str
    price: Decimal
    as_of: date


def match_key(text: str) -> str:
    """What goods and units are matched on: spaces collapsed, case folded."""
    return " ".join(text.split()).casefold()


def _text(value: object, limit: int) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    return text if 0 < len(text) <= limit else None


def _price(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        price = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        return None
    if not price.is_finite() or price <= 0 or price >= MAX_PRICE or price != price.quantize(CENT):
        return None
    return price.quantize(CENT)


def _date(value: object, today: date) -> date | None:
    if not isinstance(value, str) or len(value.strip()) != 10:
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        return None
    return day if day <= today else None


def _fault(label: Text, fault: Text) -> Text:
    return _l("%(where)s: %(fault)s", where=label, fault=fault)


# A field of a price as a line's error names it, before what it must be.
FIELD_NAMES = {"goods": _l("The goods' name"), "unit": _l("The unit"), "price": _l("The price"), "as_of": _l("The date")}


def _wrong(name: str, given: object) -> Text:
    """What is wrong with a price's field: the value given, or that none was, and then what it must be."""
    if given is None or (isinstance(given, str) and not given.strip()):
        return _l("%(field)s is missing. %(rule)s", field=FIELD_NAMES[name], rule=MESSAGES[name])
    return _l("%(field)s %(value)s is not valid. %(rule)s", field=FIELD_NAMES[name], value=repr(str(given)[:40]),
              rule=MESSAGES[name])


def _row(raw: Mapping[str, object], where: str, label: Text, today: date,
         errors: dict[str, list[Text]]) -> PriceRow | None:
    for key in sorted(set(raw) - set(FIELDS)):
        errors[f"{where}.{key}"] = [_fault(label, MESSAGES["unknown"])]
    values = {"goods": _text(raw.get("goods"), 200), "unit": _text(raw.get("unit"), 20),
              "price": _price(raw.get("price")), "as_of": _date(raw.get("as_of"), today)}
    bad = [name for name in FIELDS if values[name] is None]
    for name in bad:
        errors[f"{where}.{name}"] = [_fault(label, _wrong(name, raw.get(name)))]
    if bad or set(raw) - set(FIELDS):
        return None
    return PriceRow(str(values["goods"]), str(values["unit"]), values["price"], values["as_of"])  # type: ignore[arg-type]


def _refuse(errors: dict[str, list[Text]]) -> Invalid:
    return Invalid(REFUSED, errors)


def from_json(raw: object, today: date) -> list[PriceRow]:
    """`{"prices": [...]}`'s list, checked."""
    if not isinstance(raw, list) or not raw or len(raw) > MAX_ROWS:
        message = _l("Give the prices as a list of 1 to %(most)s objects.", most=MAX_ROWS)
        raise Invalid(message, {"prices": [message]})
    errors: dict[str, list[Text]] = {}
    rows = []
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping):
            errors[f"prices.{index}"] = [_fault(_l("Price %(n)s", n=index + 1),
                                                _l("Each price is an object with goods, unit, price and as_of."))]
            continue
        row = _row(item, f"prices.{index}", _l("Price %(n)s", n=index + 1), today, errors)
        if row is not None:
            rows.append(row)
    if errors:
        raise _refuse(errors)
    return rows


def from_csv(content: bytes, today: date) -> list[PriceRow]:
    """A CSV file whose header is goods,unit,price,as_of (in any order), UTF-8, one price a line."""
    if len(content) > MAX_CSV_BYTES:
        message = _l("The file is too large: at most 1 MB of prices at a time.")
        raise Invalid(message, {"file": [message]})
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        message = _l("The file must be a CSV file in UTF-8.")
        raise Invalid(message, {"file": [message]}) from None
    reader = csv.reader(io.StringIO(text))
    header = [match_key(name) for name in next(reader, [])]
    if sorted(header) != sorted(FIELDS):
        message = _l("The first line must name the columns goods,unit,price,as_of.")
        raise Invalid(message, {"line 1": [message]})
    errors: dict[str, list[Text]] = {}
    rows = []
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            errors[f"line {line}"] = [_fault(_l("Line %(n)s", n=line),
                                             _l("Each line has four values: goods, unit, price and as_of."))]
            continue
        row = _row(dict(zip(header, cells, strict=True)), f"line {line}", _l("Line %(n)s", n=line), today, errors)
        if row is not None:
            rows.append(row)
    if not rows and not errors:
        message = _l("The file has no prices below its header.")
        raise Invalid(message, {"file": [message]})
    if len(rows) > MAX_ROWS:
        message = _l("Give the prices as a list of 1 to %(most)s objects.", most=MAX_ROWS)
        raise Invalid(message, {"file": [message]})
    if errors:
        raise _refuse(errors)
    return rows
