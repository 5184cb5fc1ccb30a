"""Camunda user tasks in the import layer: who is offered the task, and the form it shows (issue 17).

Camunda 7 (and Activiti, whose attributes Camunda kept) says on a `userTask` who works it and what
it asks; Loanflow says the same with the task's lane and spiffworkflow properties. `prepare` writes
the properties below onto each user task (each change a warning, "what the import layer changed");
`problems` gives the strict check's errors for what has no meaning here, naming the element.

Who works it:
- `candidateGroups="first_reviewer"`: one group is a role code, the task's lane (`lane` property;
  it wins over a drawn lane, which Camunda only draws). A group the admin mapped to a role (the group
  mapping table, `group_map`: `management` -> `second_reviewer`) is that role. The deploy check
  refuses a group that is no role and not mapped (no one would be offered the task). Several groups
  are one role when each is, or is mapped to, that same role; else they are refused: a task is offered to
  one role. An expression (`${approverGroup}`) becomes `candidateGroupsExpression`, the group (or groups)
  read from the task's data when it becomes ready, mapped the same way (`task_lanes`; naming no role, the task
  is the platform's, said in its history). A lane the diagram already gives (`lane` property) wins.
- `assignee="anna"`: `assignee` property; when the task becomes ready it is claimed for that active
  user (in the task's organisation, if it has one), else it stays offered as its lane says. An
  expression (`${approver}`, JUEL) becomes `assigneeExpression`, the Python it means, evaluated on
  the task's data when it becomes ready. `candidateUsers` naming one user is that user as
  assignee; several users (`candidateUsers`, comma-separated) or an expression giving them
  (`candidateUsersExpression`) are the users the task is offered to when it becomes ready, each of whom may
  claim it (`task_candidates`; beside `candidateGroups`, the role wins).

When it is due, and how urgent it is (the inbox's due time and priority):
- `dueDate`: an ISO 8601 duration (`P2D`), or Camunda's `${dateTime().plusDays(2).toDate()}`
  (`camunda_dates`), is `dueIn`, from when the task becomes ready; a date or a
  date and time is `dueAtExpression` (without an offset, the business time zone); JUEL
  (`${deadline}`) is `dueAtExpression`, the Python it means, whose value may be any of the three.
- `priority`: Camunda's number (50 normal, higher more urgent) banded into Loanflow's 1 (urgent) to 5
  (low): 80 and up 1, 60 and up 2, 40 and up 3, 20 and up 4, else 5; JUEL is `priorityExpression`,
  banded the same way. Anything else is refused naming the task.

What it asks (a form named or made here starts with the values the task's data holds under its fields' names,
as Camunda's Tasklist fills it: `FORM_VALUES_PROPERTY`):
- `camunda:formData`: a JSON Schema generated from the fields (`generated_forms`), named
  `<process id>.<task id>.generated.json`, deployed as a form version with the process (so
  `processes export` gives back the form that runs) and named by `formJsonSchemaFilename`. Types:
  string, long (integer), boolean, date (`format: date`, a default in dd/MM/yyyy rewritten as
  YYYY-MM-DD), enum (its values' ids as `enum`, their
  names as `enumNames`); `defaultValue` as `default`; constraints required, min/max (`minimum`/
  `maximum`), minlength/maxlength, readonly (`readOnly`). Labels are kept as given: the deploy
  check warns about each label missing in the other language. Another type is kept as text, and
  another constraint is not checked: each said in a warning.
- `camunda:formKey` (without formData): the form file named by the key's last part, its extension
  replaced by `.json` (`embedded:app:forms/loan.html`, `camunda-forms:deployment:loan.form`,
  `app:loan.jsf` and `loan` all name `loan.json`); the form check refuses a key whose file is not
  in forms/, naming the key. A user task that already names its form keeps it.
- `camunda:formRef` (Camunda 7.20's linked Camunda form, by the `id` its `.form` file holds): as Camunda 8's
  `formId` below; a fixed `formRefVersion` is said (the form deployed with the diagram is shown).
- Camunda 8's `zeebe:formDefinition`: a form the diagram embeds (`formKey="camunda-forms:bpmn:ID"`,
  the `zeebe:userTaskForm ID` of the process) is a generated form as formData's is, made by
  `camunda_forms`; a linked form (`formId="X"`) is the forms/ file `X.json` (or the Camunda Forms file
  `X.form` there, or the one whose `id` is `X`: `camunda_forms.by_id`); another key, and a custom form's
  `externalReference`, names a file as camunda:formKey does. An embedded form that is missing
  or cannot be shown, or a definition naming no form, is refused naming the task.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lxml import etree

from app.engine import camunda_dates, camunda_forms, form_properties
from app.engine.errors import DiagramProblem
from app.engine.juel import ExpressionRefused, feel, is_juel, juel_text
from app.engine.said import Said, said
from app.engine.xml import BPMN_NS, CAMUNDA_NS, ZEEBE_NS, extension_elements
from app.engine.xml import source_line as _line

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
FORM_PROPERTY = "formJsonSchemaFilename"  # as app.engine.parser names it
LANE_PROPERTY = "lane"
GroupMap = Mapping[str, str]  # a Camunda group (camunda:candidateGroups) -> a Loanflow role code
ASSIGNEE_PROPERTY = "assignee"
ASSIGNEE_EXPRESSION = "assigneeExpression"
CANDIDATES_PROPERTY = "candidateUsers"  # the users a task is offered to, comma-separated
CANDIDATES_EXPRESSION = "candidateUsersExpression"  # an expression giving them (a list, or a comma-separated text)
GROUPS_EXPRESSION = "candidateGroupsExpression"  # an expression giving the task's group (its lane) from its data
FORM_KEY_PROPERTY = "formKey"  # the key a form file was named from, for the form check's reason
# A form whose fields start with the values the task's data holds under their names, as Camunda's Tasklist fills
# a Camunda form, an embedded HTML form and a formData form (Loanflow's own forms ask afresh)
FORM_VALUES_PROPERTY = "formValuesFromData"
FORM_KEY_ATTRIBUTE = "formKeyAttribute"  # the attribute that key was written in, where not camunda:formKey
GENERATED_SUFFIX = ".generated.json"
_B = f"{{{BPMN_NS}}}"
_Z = f"{{{ZEEBE_NS}}}"
_EMBEDDED_KEY = "camunda-forms:bpmn:"
_KEY_PREFIXES = ("embedded:app:", "embedded:deployment:", "camunda-forms:app:", "camunda-forms:deployment:",
                 "app:", "deployment:", "embedded:")
_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"}, "long": {"type": "integer"}, "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"}, "enum": {"type": "string"},
    "double": {"type": "number"},  # Flowable's form properties
}


@dataclass
class _UserTask:
    """What one Camunda user task becomes: properties to write, changes said, refusals."""

    properties: dict[str, str] = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    form: tuple[str, dict[str, Any]] | None = None  # a generated form: its name and JSON Schema


def _camunda(node: etree._Element, name: str) -> str | None:
    value = node.get(f"{{{CAMUNDA_NS}}}{name}")
    return None if value is None else value.strip()


def _children(node: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in node if isinstance(c.tag, str) and etree.QName(c).localname == name
            and etree.QName(c).namespace == CAMUNDA_NS]


def _existing_properties(task: etree._Element) -> dict[str, str]:
    return {p.get("name") or "": p.get("value") or "" for p in task.iterfind(
        f"{_B}extensionElements/{{{SPIFF_NS}}}properties/{{{SPIFF_NS}}}property")}


def _process_id(task: etree._Element) -> str:
    for ancestor in task.iterancestors(f"{_B}process"):
        return ancestor.get("id") or "process"
    return "process"


def _names(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _is_expression(value: str) -> bool:
    """Whether an attribute's value is an expression: JUEL (`${approver}`), or FEEL after Camunda 8's `=`."""
    return is_juel(value) or value.startswith("=")


def _language(value: str) -> str:
    return "FEEL" if value.startswith("=") else "JUEL"


def _juel(found: _UserTask, attribute: str, value: str) -> str | None:
    """The Python an expression attribute means (JUEL: one expression, or a text around them:
    `clerk_${region}`; FEEL after `=`); None, the refusal noted, when it has no safe meaning."""
    try:
        return feel(value) if value.startswith("=") else juel_text(value)
    except ExpressionRefused as exc:
        found.refusals.append(said("camunda:%(attribute)s %(value)r cannot run: %(why)s", attribute=attribute,
                                   value=value, why=exc.reason))
        return None


def _offered_to(groups: str, found: _UserTask, group_map: GroupMap) -> None:
    """The lane `camunda:candidateGroups` means: its group, or the role the admin mapped it to; groups that
    all mean one role are that role."""
    if _is_expression(groups):
        python = _juel(found, "candidateGroups", groups)
        if python is not None:
            found.properties[GROUPS_EXPRESSION] = python
            found.changes.append(said("camunda:candidateGroups %(groups)r is %(language)s; the task is offered to the role "
                                      "%(python)r names in its data when it becomes ready (a group the mapping table "
                                      "maps to a role too; else the platform's)", groups=groups, python=python, language=_language(groups)))
        return
    names = _names(groups)
    roles = list(dict.fromkeys(group_map.get(name, name) for name in names))
    if len(roles) > 1:
        found.refusals.append(said("camunda:candidateGroups names %(count)d groups (%(groups)s) that are not one "
                                   "role; Loanflow offers a task to one role (its lane): name one, or map them to "
                                   "one role (the group mapping table)", count=len(names), groups=groups))
    elif roles:
        found.properties[LANE_PROPERTY] = roles[0]
        mapped = [name for name in names if name in group_map]
        found.changes.append(
            said("camunda:candidateGroups %(groups)r: the group mapping offers the task to the role %(role)r (its "
                 "lane)", groups=groups, role=roles[0]) if mapped
            else said("camunda:candidateGroups %(groups)r: the task is offered to %(role)r (its lane)",
                      groups=groups, role=roles[0]))


def _who(task: etree._Element, found: _UserTask, existing: dict[str, str], group_map: GroupMap) -> None:
    groups = _camunda(task, "candidateGroups")
    if groups and LANE_PROPERTY not in existing:  # a lane the diagram (or the import) already gave wins
        _offered_to(groups, found, group_map)
    assignee = _camunda(task, "assignee")
    users = _camunda(task, "candidateUsers")
    if users:
        if _is_expression(users) or len(_names(users)) > 1:
            _offered_to_users(users, found, existing)
        elif not assignee:
            assignee = _names(users)[0]
            found.changes.append(said("camunda:candidateUsers names one user, %(user)r: the task is given to them",
                                      user=assignee))
    if not assignee or ASSIGNEE_PROPERTY in existing or ASSIGNEE_EXPRESSION in existing:
        return
    if _is_expression(assignee):
        python = _juel(found, "assignee", assignee)
        if python is None:
            return
        found.properties[ASSIGNEE_EXPRESSION] = python
        found.changes.append(said("camunda:assignee %(assignee)r is %(language)s; the task is given to the user named by "
                                  "%(python)r in its data when it becomes ready (else it stays offered)",
                                  assignee=assignee, python=python, language=_language(assignee)))
    else:
        found.properties[ASSIGNEE_PROPERTY] = assignee
        found.changes.append(said("camunda:assignee %(assignee)r: the task is given to that user when it becomes ready",
                                  assignee=assignee))


def _offered_to_users(users: str, found: _UserTask, existing: dict[str, str]) -> None:
    """`candidateUsers` naming several users (or an expression giving them): the task is offered to each of
    them when it becomes ready (`task_candidates`); a lane (candidateGroups) beside it wins, as one role."""
    if LANE_PROPERTY in found.properties or LANE_PROPERTY in existing:
        found.changes.append(said("camunda:candidateUsers %(users)r beside a role: the task is offered to the role "
                                  "(its lane), not to the users named", users=users))
        return
    if _is_expression(users):
        python = _juel(found, "candidateUsers", users)
        if python is None:
            return
        found.properties[CANDIDATES_EXPRESSION] = python
        found.changes.append(said("camunda:candidateUsers %(users)r is %(language)s; the task is offered to the users named "
                                  "by %(python)r in its data when it becomes ready", users=users, python=python, language=_language(users)))
        return
    found.properties[CANDIDATES_PROPERTY] = ", ".join(_names(users))
    found.changes.append(said("camunda:candidateUsers %(users)r: the task is offered to each of these users",
                              users=users))


# Camunda's priority: any integer, 50 normal, higher more urgent; Loanflow's: 1 urgent to 5 low, 3 normal
_PRIORITY_BANDS = ((80, 1), (60, 2), (40, 3), (20, 4))


def camunda_priority(value: int) -> int:
    """Loanflow's priority (1 urgent ... 5 low) for Camunda's (50 normal, higher more urgent): 80 and up 1,
    60-79 2, 40-59 3, 20-39 4, below 20 5."""
    return next((mine for floor, mine in _PRIORITY_BANDS if value >= floor), 5)


def _priority_expression(python: str) -> str:
    """The Python that bands a Camunda priority computed by `python` as `camunda_priority` does."""
    bands = " else ".join(f"{mine} if ({python}) >= {floor}" for floor, mine in _PRIORITY_BANDS)
    return f"{bands} else 5"


def _when(task: etree._Element, found: _UserTask, existing: dict[str, str]) -> None:
    """camunda:dueDate and camunda:priority: the task's due time and priority in the inbox."""
    due = _camunda(task, "dueDate")
    if due and not {"dueIn", "dueAtExpression"} & set(existing):
        relative = camunda_dates.offset(due)
        if relative is not None:
            found.properties["dueIn"] = relative
            found.changes.append(said("camunda:dueDate %(due)r is a moment %(duration)s after the task becomes ready "
                                      "(Camunda's dateTime()): the task is due that long after it becomes ready",
                                      due=due, duration=relative))
        elif _is_expression(due):
            python = _juel(found, "dueDate", due)
            if python is not None:
                found.properties["dueAtExpression"] = python
                found.changes.append(said("camunda:dueDate %(due)r is %(language)s; the task is due when %(python)r says, "
                                          "in its data when it becomes ready (a date, a date and time, or a duration "
                                          "from then)", due=due, python=python, language=_language(due)))
        elif re.fullmatch(r"P[0-9YMWDTHS.,]+", due):
            found.properties["dueIn"] = due
            found.changes.append(said("camunda:dueDate %(due)r: the task is due that long after it becomes ready",
                                      due=due))
        elif _iso_moment(due):
            found.properties["dueAtExpression"] = repr(due)
            found.changes.append(said("camunda:dueDate %(due)r: the task is due then (without an offset: Loanflow's "
                                      "business time zone)", due=due))
        else:
            found.refusals.append(said("camunda:dueDate %(due)r is neither an ISO 8601 date, date and time, nor "
                                       "duration, nor an expression", due=due))
    priority = _camunda(task, "priority")
    if priority and not {"priority", "priorityExpression"} & set(existing):
        if _is_expression(priority):
            python = _juel(found, "priority", priority)
            if python is not None:
                found.properties["priorityExpression"] = _priority_expression(python)
                found.changes.append(said("camunda:priority %(priority)r is %(language)s; the task's priority is %(python)r "
                                          "in its data when it becomes ready, banded into Loanflow's 1 (urgent) to 5 "
                                          "(low) as a number is", priority=priority, python=python,
                                          language=_language(priority)))
        elif re.fullmatch(r"[+-]?\d+", priority):
            mine = camunda_priority(int(priority))
            found.properties["priority"] = str(mine)
            found.changes.append(said("camunda:priority %(priority)s: the task's priority is %(mine)d of Loanflow's 1 "
                                      "(urgent) to 5 (low) (Camunda's 50 is normal, higher is more urgent: 80 and up "
                                      "1, 60 and up 2, 40 and up 3, 20 and up 4)", priority=priority, mine=mine))
        else:
            found.refusals.append(said("camunda:priority %(priority)r is no whole number, nor an expression",
                                       priority=priority))


def _iso_moment(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _typed(value: str, kind: str) -> Any:
    """A text from the diagram as a value of the field's JSON type; None when it is not one."""
    if kind == "integer":
        return int(value) if re.fullmatch(r"[+-]?\d+", value.strip()) else None
    if kind == "number":
        try:
            return float(value)
        except ValueError:
            return None
    if kind == "boolean":
        return {"true": True, "false": False}.get(value.strip().lower())
    return value


def _date(value: str) -> str | None:
    """A date default as YYYY-MM-DD: written so, or as Camunda's default pattern dd/MM/yyyy."""
    value = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return value
    found = re.fullmatch(r"(\d{2})/(\d{2})/(\d{4})", value)
    return f"{found[3]}-{found[2]}-{found[1]}" if found else None


def _field(node: etree._Element, changes: list[str]) -> tuple[str, dict[str, Any], bool] | None:
    """One formField as (id, its JSON Schema, required); None for a field without an id."""
    field_id = (node.get("id") or "").strip()
    if not field_id:
        changes.append(said("a form field without an id was left out of the generated form"))
        return None
    kind = (node.get("type") or "string").strip()
    if kind == "enum" and not _children(node, "value"):
        changes.append(said("form field %(field)r is a choice with no values to choose from (Activiti's designer "
                            "leaves them to its page); the form asks for it as text", field=field_id))
        kind = "string"
    if kind not in _TYPES:
        changes.append(said("form field %(field)r has type %(kind)r, which Loanflow does not know; the form asks "
                            "for it as text", field=field_id, kind=kind))
        kind = "string"
    schema: dict[str, Any] = dict(_TYPES[kind])
    if node.get("label"):
        schema["title"] = node.get("label")
    if kind == "enum":
        values = _children(node, "value")
        schema["enum"] = [v.get("id") or "" for v in values]
        schema["enumNames"] = [v.get("name") or v.get("id") or "" for v in values]
    default = node.get("defaultValue")
    if default is not None and not is_juel(default):
        typed = _date(default) if kind == "date" else _typed(default, schema["type"])
        if typed is not None and (kind != "enum" or typed in schema["enum"]):
            schema["default"] = typed
        else:
            changes.append(said("form field %(field)r: default %(default)r is not a %(kind)s; the form has none",
                                field=field_id, default=default, kind=kind))
    elif default is not None:
        changes.append(said("form field %(field)r: the default %(default)r is an expression; the form has none",
                            field=field_id, default=default))
    required = False
    for validation in _children(node, "validation"):
        for constraint in _children(validation, "constraint"):
            name, config = (constraint.get("name") or "").strip(), (constraint.get("config") or "").strip()
            if name == "required":
                required = config.lower() != "false"
            elif name == "readonly":
                schema["readOnly"] = config.lower() != "false"
            elif name in ("min", "max", "minlength", "maxlength"):
                key = {"min": "minimum", "max": "maximum", "minlength": "minLength", "maxlength": "maxLength"}[name]
                if name in ("minlength", "maxlength") and schema["type"] != "string":
                    changes.append(said("form field %(field)r: %(constraint)s applies to text; not checked",
                                        field=field_id, constraint=name))
                    continue
                if name in ("min", "max") and schema["type"] not in ("integer", "number"):
                    changes.append(said("form field %(field)r: %(constraint)s applies to numbers; not checked",
                                        field=field_id, constraint=name))
                    continue
                limit = _typed(config, "integer") if key in ("minLength", "maxLength") else _typed(config, "number")
                if limit is None:
                    changes.append(said("form field %(field)r: %(constraint)s %(config)r is not a number; not checked",
                                        field=field_id, constraint=name, config=config))
                    continue
                schema[key] = int(limit) if isinstance(limit, float) and limit.is_integer() else limit
            else:
                changes.append(said("form field %(field)r: the constraint %(constraint)r is not checked by Loanflow",
                                    field=field_id, constraint=name))
    return field_id, schema, required


def form_schema(form_data: etree._Element, title: str | None) -> tuple[dict[str, Any], list[str]]:
    """The JSON Schema of a `camunda:formData`, and what the translation could not keep."""
    notes: list[str] = []
    schema: dict[str, Any] = {"type": "object", "properties": {}}
    if title:
        schema["title"] = title
    required: list[str] = []
    for node in _children(form_data, "formField"):
        made = _field(node, notes)
        if made is None:
            continue
        field_id, prop, needed = made
        schema["properties"][field_id] = prop
        if needed:
            required.append(field_id)
    if required:
        schema["required"] = required
    return schema, notes


def _form_file(key: str) -> str:
    """The forms/ file a camunda:formKey names: its last part, the extension replaced by .json."""
    rest = key
    for prefix in _KEY_PREFIXES:
        if rest.startswith(prefix):
            rest = rest[len(prefix):]
            break
    stem = rest.rsplit("/", 1)[-1]
    stem = re.sub(r"\.(html?|form|jsf|json|xhtml)$", "", stem)
    return f"{stem}.json"


def _what(task: etree._Element, existing: dict[str, str], found: _UserTask) -> None:
    if FORM_PROPERTY in existing:
        return
    form_data = [d for ext in task.findall(f"{_B}extensionElements") for d in _children(ext, "formData")]
    key = _camunda(task, "formKey")
    if form_data:
        name = f"{_process_id(task)}.{task.get('id')}{GENERATED_SUFFIX}"
        schema, notes = form_schema(form_data[0], task.get("name"))
        found.form = (name, schema)
        found.properties[FORM_PROPERTY] = name
        fields = _fields(schema)
        found.changes.append(
            said("camunda:formData: the task's form is %(name)s, generated from its fields (%(fields)s); "
                 "camunda:formKey %(key)r is not used", name=name, fields=fields, key=key) if key
            else said("camunda:formData: the task's form is %(name)s, generated from its fields (%(fields)s)",
                      name=name, fields=fields))
        found.changes += notes
    elif key and is_juel(key):
        found.refusals.append(said(
            "the task chooses its form at run time by the expression %(key)r (camunda:formKey); Loanflow shows the "
            "form named when the process is deployed: name the form, or draw a gateway to a task per form", key=key))
    elif key:
        name = _form_file(key)
        found.properties[FORM_PROPERTY] = name
        found.properties[FORM_KEY_PROPERTY] = key
        found.changes.append(said("camunda:formKey %(key)r: the task's form is %(name)s, a file of forms/ or one deployed with the "
                                  "diagram", key=key,
                                  name=name))
    elif _camunda(task, "formRef"):
        _form_ref(task, found)
    else:
        _zeebe_what(task, found)


def _form_ref(node: etree._Element, found: _UserTask) -> None:
    """Camunda 7.20's linked Camunda form (`camunda:formRef="invoice-review"`, the `id` a `.form` file holds), as
    Camunda 8's `formId`: the forms/ file `<ref>.json`, or the Camunda Forms file whose id it is, deployed with the
    diagram or before. `formRefBinding` latest and deployment are what Loanflow does (the forms deployed with a
    version, or saved since); a fixed `formRefVersion` is said: the form as deployed is shown, not that version."""
    ref = _camunda(node, "formRef") or ""
    if is_juel(ref):
        found.refusals.append(said("the form is chosen at run time by the expression %(ref)r (camunda:formRef); "
                                   "Loanflow shows the form named when the process is deployed: name the form", ref=ref))
        return
    name = f"{ref}.json"
    found.properties.update({FORM_PROPERTY: name, FORM_KEY_PROPERTY: ref, FORM_KEY_ATTRIBUTE: "camunda:formRef"})
    found.changes.append(said("camunda:formRef %(ref)r: the form is %(name)s, a file of forms/ or one deployed with "
                              "the diagram (a Camunda Forms file %(stem)s.form, or one whose id is %(stem)s, is read as "
                              "one)", ref=ref, stem=ref, name=name))
    if (_camunda(node, "formRefBinding") or "latest") == "version":
        found.changes.append(said("camunda:formRefVersion %(version)r: Loanflow shows the form as it was deployed with "
                                  "the diagram (or saved since), not a version chosen by number",
                                  version=_camunda(node, "formRefVersion") or ""))


def _zeebe_form_definition(task: etree._Element) -> etree._Element | None:
    return next((d for ext in task.findall(f"{_B}extensionElements") for d in ext.iter(f"{_Z}formDefinition")), None)


def _embedded_form(task: etree._Element, form_id: str) -> etree._Element | None:
    root = task.getroottree().getroot()
    return next((f for f in root.iter(f"{_Z}userTaskForm") if f.get("id") == form_id), None)


def zeebe_embedded_form(task: etree._Element) -> tuple[str, dict[str, Any], list[str]] | None:
    """The form a Camunda 8 user task embeds (`zeebe:formDefinition formKey="camunda-forms:bpmn:ID"` naming
    the diagram's `zeebe:userTaskForm ID`): its generated name, JSON Schema and notes; None when the task
    embeds none. Raises `camunda_forms.FormNotConverted` when it cannot be shown."""
    definition = _zeebe_form_definition(task)
    key = (definition.get("formKey") or "").strip() if definition is not None else ""
    if not key.startswith(_EMBEDDED_KEY):
        return None
    embedded = _embedded_form(task, key[len(_EMBEDDED_KEY):])
    if embedded is None:
        raise camunda_forms.FormNotConverted(said("the diagram holds no zeebe:userTaskForm %(form)r",
                                                  form=key[len(_EMBEDDED_KEY):]))
    schema, notes = camunda_forms.schema_of(camunda_forms.read(embedded.text or ""), task.get("name"))
    return f"{_process_id(task)}.{task.get('id')}{GENERATED_SUFFIX}", schema, notes


def _zeebe_what(task: etree._Element, found: _UserTask) -> None:
    """A Camunda 8 user task's form: one the diagram embeds (a generated form, as for formData), a linked
    form by its id (`formId`: the forms/ file of that name), or a custom key (as camunda:formKey)."""
    definition = _zeebe_form_definition(task)
    if definition is None:
        return
    key, form_id = (definition.get("formKey") or "").strip(), (definition.get("formId") or "").strip()
    external = "" if key else (definition.get("externalReference") or "").strip()  # a custom form's key (Camunda 8.5+)
    if key.startswith(_EMBEDDED_KEY):
        try:
            made = zeebe_embedded_form(task)
        except camunda_forms.FormNotConverted as exc:
            found.refusals.append(said("zeebe:formDefinition %(key)r: the embedded Camunda form cannot be shown: "
                                       "%(why)s", key=key, why=_reason(exc)))
            return
        assert made is not None  # the key names an embedded form
        name, schema, notes = made
        found.form = (name, schema)
        found.properties[FORM_PROPERTY] = name
        found.changes.append(said("zeebe:formDefinition %(key)r: the task's form is %(name)s, made from the Camunda "
                                  "form the diagram embeds (%(fields)s)", key=key, name=name, fields=_fields(schema)))
        found.changes += [said("zeebe:formDefinition %(key)r: %(note)s", key=key, note=note) for note in notes]
    elif form_id or key or external:
        name = f"{form_id}.json" if form_id else _form_file(key or external)
        found.properties[FORM_PROPERTY] = name
        found.properties[FORM_KEY_PROPERTY] = form_id or key or external
        found.properties[FORM_KEY_ATTRIBUTE] = ("zeebe:formDefinition formId" if form_id else "zeebe:formDefinition formKey"
                                                if key else "zeebe:formDefinition externalReference")
        # an attribute and its value: data
        named = (f"formId {form_id!r}" if form_id else f"formKey {key!r}" if key else f"externalReference {external!r}")
        found.changes.append(said("zeebe:formDefinition %(named)s: the task's form is %(name)s, a file of forms/ or one "
                                  "deployed with the diagram (a Camunda Forms file %(stem)s.form, or one whose id is "
                                  "%(stem)s, is read as one)", named=named, name=name, stem=name.removesuffix(".json")))
    else:
        found.refusals.append(said("zeebe:formDefinition names no form (no formKey, formId or externalReference): "
                                   "Loanflow shows JSON Schema and Camunda Forms forms; name one, or remove the "
                                   "definition"))


def _fields(schema: dict[str, Any]) -> str:
    """The ids of a generated form's fields, as a change names them."""
    return ", ".join(schema["properties"]) or said("no fields")


def _reason(exc: Exception) -> str:
    """Why a form cannot be shown: the exception's reason as it was said (a plain text when it was not)."""
    first = exc.args[0] if len(exc.args) == 1 else None
    return first if isinstance(first, Said) else str(exc)


def _translation(task: etree._Element, group_map: GroupMap | None = None) -> _UserTask:
    found = _UserTask()
    existing = _existing_properties(task)
    _who(task, found, existing, group_map or {})
    _when(task, found, existing)
    _what(task, existing, found)
    if FORM_PROPERTY in found.properties:  # Camunda's Tasklist fills a form's fields from the variables they name
        found.properties[FORM_VALUES_PROPERTY] = "true"
    return found


def set_properties(task: etree._Element, properties: dict[str, str]) -> None:
    """Add spiffworkflow properties to an element (where SpiffWorkflow's parser reads them)."""
    extensions = extension_elements(task)
    holder = extensions.find(f"{{{SPIFF_NS}}}properties")
    if holder is None:
        holder = etree.SubElement(extensions, f"{{{SPIFF_NS}}}properties")
    for name, value in properties.items():
        etree.SubElement(holder, f"{{{SPIFF_NS}}}property", name=name, value=value)


def prepare(root: etree._Element, filename: str, group_map: GroupMap | None = None) -> list[DiagramProblem]:
    """Write each Camunda user task's lane, assignee and form as properties; the changes as warnings.
    `group_map`: the admin's group mapping table (a Camunda group -> the role its tasks are offered to)."""
    changes: list[DiagramProblem] = [
        DiagramProblem(filename, node.get("id"), reason, _line(node), "warning")
        for node in root.iter(f"{_B}userTask", f"{_B}startEvent") for reason in form_properties.as_form_data(node)]
    for task in root.iter(f"{_B}userTask"):
        found = _translation(task, group_map)
        if found.properties:
            set_properties(task, found.properties)
        changes += [DiagramProblem(filename, task.get("id"), reason, _line(task), "warning") for reason in found.changes]
    for event in root.iter(f"{_B}startEvent"):
        changes += [DiagramProblem(filename, event.get("id"), reason, _line(event), "warning")
                    for reason in _start_form(event)]
    return changes


def _start_form(event: etree._Element) -> list[str]:
    """A Camunda start form, the check of the data an instance is started at a none start event with (and the
    form the console's start page shows, `app/web/start_page.py`): the fields of `camunda:formData` (a
    generated form), the file a `camunda:formKey` names, or Camunda 8's `zeebe:formDefinition` (as a user
    task's). A named file missing from forms/ is a warning, not an error (`lint`): the instance then starts
    with the data its caller gives, unchecked. What it says changed."""
    form_data = [d for ext in event.findall(f"{_B}extensionElements") for d in _children(ext, "formData")]
    key, ref = _camunda(event, "formKey"), _camunda(event, "formRef")
    zeebe = _zeebe_form_definition(event)
    if not (form_data or key or ref or zeebe is not None) or FORM_PROPERTY in _existing_properties(event):
        return []
    if any(isinstance(c.tag, str) and etree.QName(c).localname.endswith("EventDefinition") for c in event):
        return [said("the start form (camunda:formData, camunda:formKey) of a start event that waits for an event "
                     "is not read: an instance it starts has the event's data, which no form checks")]
    if form_data:
        name = f"{_process_id(event)}.{event.get('id')}{GENERATED_SUFFIX}"
        schema, notes = form_schema(form_data[0], event.get("name"))
        set_properties(event, {FORM_PROPERTY: name})
        return [said("camunda:formData on the start event: the data an instance is started with is checked "
                     "against the form %(name)s, generated from its fields (%(fields)s); a person starts it on the "
                     "console's start page, a program with POST /api/v1/process-instances", name=name,
                     fields=_fields(schema)), *notes,
                *([said("camunda:formKey %(key)r on the start event is not used: its camunda:formData is the start "
                        "form", key=key)] if key else [])]
    found = _UserTask()
    if key and is_juel(key):
        return [said("camunda:formKey %(key)r on the start event is not read: an expression chooses no form before "
                     "the instance exists; it starts with the data its caller gives", key=key)]
    if key:
        name = _form_file(key)
        found.properties.update({FORM_PROPERTY: name, FORM_KEY_PROPERTY: key})
        found.changes.append(said("camunda:formKey %(key)r on the start event: the data an instance is started "
                                  "with is checked against %(name)s, a file of forms/ or one deployed with the "
                                  "diagram, the form the console's start page shows", key=key, name=name))
    elif ref:
        _form_ref(event, found)
    else:
        _zeebe_what(event, found)
    if found.properties:
        set_properties(event, found.properties)
    return found.changes + found.refusals


def candidate_groups(root: etree._Element) -> set[str]:
    """The groups the user tasks under `root` are offered to by name (`camunda:candidateGroups`)."""
    return {name for task in root.iter(f"{_B}userTask") for groups in [_camunda(task, "candidateGroups")]
            if groups and not _is_expression(groups) for name in _names(groups)}


def problems(scope: etree._Element, filename: str) -> list[DiagramProblem]:
    """The strict check's errors: what a Camunda user task under `scope` says that cannot mean anything here."""
    return [DiagramProblem(filename, task.get("id"), reason, _line(task))
            for task in scope.iter(f"{_B}userTask") for reason in _translation(task).refusals]


def generated_forms(root: etree._Element) -> dict[str, dict[str, Any]]:
    """The forms generated from the `camunda:formData` (or the embedded Camunda 8 form) of the user tasks
    and start events under `root`, by file name."""
    forms = {}
    for task in root.iter(f"{_B}userTask", f"{_B}startEvent"):
        existing = _existing_properties(task)
        name = existing.get(FORM_PROPERTY, "")
        form_data = [d for ext in task.findall(f"{_B}extensionElements") for d in _children(ext, "formData")]
        if name.endswith(GENERATED_SUFFIX) and form_data:
            forms[name] = form_schema(form_data[0], task.get("name"))[0]
        elif name.endswith(GENERATED_SUFFIX):
            try:
                made = zeebe_embedded_form(task)
            except camunda_forms.FormNotConverted:
                continue  # refused by the strict check (`problems`), naming the task
            if made is not None:
                forms[name] = made[1]
    return forms
