"""Form properties: the fields Activiti and Flowable (and Camunda 7, as its "legacy" forms) put on a task.

`<camunda:formProperty id="amount" name="Amount" type="long" required="true"/>` (or `activiti:` / `flowable:`,
read as Camunda's, `vendor_namespaces`) says, field by field, what a user task or a start event asks, as
`camunda:formData` does in Camunda's later form. `as_form_data` writes each element's properties as the
`camunda:formData` they mean, which the import then makes into a generated form (`camunda_user_tasks`):

- `id` is the field, `name` its label, `type` its type (string, long, double, boolean, date, enum with its
  `value` children; another is asked as text, said); `required="true"` and `writable="false"` are the
  `required` and `readonly` constraints; `default` (Flowable) a default value;
- `variable="x"` (or `expression="${x}"`) keeps the answer under `x`, as the engines do: the field is `x`;
- `readable="false"`: a value the engine keeps out of the form; the field is left out, said;
- `datePattern`: the form asks a date as dates are asked here (year-month-day), said;
- an `expression` that is not a variable's name is not read: the field keeps its answer under its id, said.

An element that also has `camunda:formData` keeps that form; its form properties are said as not used.
"""
from __future__ import annotations

import re

from lxml import etree

from app.engine.said import said
from app.engine.xml import BPMN_NS, CAMUNDA_NS

_B, _C = f"{{{BPMN_NS}}}", f"{{{CAMUNDA_NS}}}"
_VARIABLE = re.compile(r"\s*[$#]\{\s*([A-Za-z_]\w*)\s*\}\s*")


def _field(prop: etree._Element, notes: list[str]) -> etree._Element | None:
    """The `formField` one `formProperty` means; None for one left out of the form."""
    given = (prop.get("id") or "").strip()
    if (prop.get("readable") or "").strip().lower() == "false":
        notes.append(said("form property %(field)r is not readable: the form leaves it out", field=given))
        return None
    name = (prop.get("variable") or "").strip() or given
    expression = (prop.get("expression") or "").strip()
    if expression:
        variable = _VARIABLE.fullmatch(expression)
        if variable:
            name = variable[1]
        else:
            notes.append(said("form property %(field)r: its expression %(expression)r is not read; the answer is "
                              "kept under %(name)r", field=given, expression=expression, name=name))
    field = etree.Element(f"{_C}formField", {"id": name})
    for source, target in (("name", "label"), ("type", "type"), ("default", "defaultValue")):
        if prop.get(source) is not None:
            field.set(target, prop.get(source) or "")
    if prop.get("datePattern"):
        notes.append(said("form property %(field)r: the date is asked as year-month-day, not as %(pattern)r",
                          field=given, pattern=prop.get("datePattern")))
    constraints = [c for c, attribute, meaning in (("required", "required", "true"), ("readonly", "writable", "false"))
                   if (prop.get(attribute) or "").strip().lower() == meaning]
    if constraints:
        validation = etree.SubElement(field, f"{_C}validation")
        for constraint in constraints:
            etree.SubElement(validation, f"{_C}constraint", {"name": constraint})
    for value in prop.iterchildren(f"{_C}value"):
        etree.SubElement(field, f"{_C}value", {k: v for k, v in value.attrib.items() if k in ("id", "name")})
    return field


def as_form_data(element: etree._Element) -> list[str]:
    """Write `element`'s form properties as the `camunda:formData` they mean, in place; what it said."""
    ext = element.find(f"{_B}extensionElements")
    props = [] if ext is None else list(ext.iterchildren(f"{_C}formProperty"))
    if ext is None or not props:
        return []
    for prop in props:
        ext.remove(prop)
    if ext.find(f"{_C}formData") is not None:
        return [said("the form properties (camunda:formProperty) are not used: the task's form is its "
                     "camunda:formData")]
    notes: list[str] = [said("the form properties (camunda:formProperty, as Activiti and Flowable write a form) are read as "
                  "camunda:formData")]
    form = etree.SubElement(ext, f"{_C}formData")
    for prop in props:
        field = _field(prop, notes)
        if field is not None:
            form.append(field)
    return notes


__all__ = ["as_form_data"]
