"""What scripts written for SpiffWorkflow or SpiffArena read besides their data, and what they may not.

SpiffArena runs its diagrams' scripts with names bound beforehand: `timedelta`, `time`, and
`datetime` naming the class `datetime.datetime` (`datetime.utcnow()`), plus helper functions of its
own server (`get_current_user()`, `get_env()`, `get_secret(...)`...). Loanflow's sandbox binds
`datetime` to the module (`datetime.date(...)`, `datetime.timedelta(...)`, as `import datetime`
gives). What has one safe meaning here is offered:

- `timedelta`: the class `datetime.timedelta`;
- `time`: a stand-in for the module with `time()` and `time_ns()` (the seconds and nanoseconds
  since 1970); `time.sleep` is refused (a process waits with a timer event, not in a script, which
  holds a worker and its budget); `import time` gives the same stand-in (`IMPORTABLE`);
- `get_localtime(datetime, timezone="US/Eastern")`: the datetime in that time zone (an IANA name,
  `Europe/London`), as SpiffArena's function gives it, US/Eastern default included. A naive datetime
  is taken as UTC, the engine's clock, never as the server's own zone;
- `sanitize_for_md(text)`: the text with each `|` escaped, so a value cannot break a Markdown table;
- `is_defined("x")`: whether the data holds a value under that name (None too), what FEEL's `is defined(x)`
  means (the import translates one to the other); bound to each run's own data;
- `datetime`: the module, plus the constructors of the class that SpiffArena's scripts call on
  it: `now`, `utcnow`, `today`, `fromisoformat`, `fromtimestamp`, `utcfromtimestamp`, `strptime`
  and `combine` (the module has no such names, so they mean only that). `datetime.date` and
  `datetime.time` stay the module's classes.

`timedelta` and `time` are offered only where the task's data holds no value of that name (the
data's value wins, and is never overwritten or dropped by a script's run); after a run they leave
the data as the other globals do.

SpiffArena's server functions that Loanflow does not have (and `time.sleep`, `open`) are named in
`NOT_PROVIDED` with what to do instead; `calls_not_provided` finds them in a script or expression for the strict check,
so a diagram that calls one is refused at validate naming the function, instead of failing when
an instance reaches it with "reads get_env, which this instance has no value for".
"""
from __future__ import annotations

import ast
import datetime
import time as _time
import zoneinfo
from functools import lru_cache
from types import ModuleType
from typing import Any

from app.engine.limits import SandboxViolation
from app.engine.said import Said, said

CLASS_CONSTRUCTORS = ("now", "utcnow", "today", "fromisoformat", "fromtimestamp", "utcfromtimestamp", "strptime",
                      "combine")


def _sleep(*_args: Any, **_kwargs: Any) -> None:
    raise SandboxViolation(said("time.sleep is not allowed in diagram scripts: a script that waits holds a worker; "
                                "wait with a timer event instead"))


DATETIME = ModuleType("datetime", datetime.__doc__)
for _name in dir(datetime):
    if not _name.startswith("_"):
        setattr(DATETIME, _name, getattr(datetime, _name))
for _name in CLASS_CONSTRUCTORS:
    setattr(DATETIME, _name, getattr(datetime.datetime, _name))
TIME = ModuleType("time", "The seconds since 1970 (time(), time_ns()); sleeping is refused.")
TIME.time, TIME.time_ns, TIME.sleep = _time.time, _time.time_ns, _sleep  # type: ignore[attr-defined]

SPIFFARENA_ZONE = "US/Eastern"  # get_localtime's zone when the script names none, as in SpiffArena


@lru_cache(maxsize=1)
def zones() -> dict[str, zoneinfo.ZoneInfo]:
    """Every IANA time zone, loaded once (62 ms): a sandbox process loads them before it is cut off from
    files, so a script's `get_localtime` never opens one."""
    return {name: zoneinfo.ZoneInfo(name) for name in zoneinfo.available_timezones()}


def get_localtime(*args: Any, **kwargs: Any) -> datetime.datetime:
    """SpiffArena's `get_localtime(datetime, timezone)`: the moment in that zone's local time, with
    that moment's offset (a fixed offset, as task data stores it)."""
    unknown = sorted(set(kwargs) - {"datetime", "timezone"})
    if unknown or not (args or "datetime" in kwargs) or len(args) > 2:
        if unknown:
            raise TypeError(said("get_localtime takes the datetime to convert and a time zone name: "
                                 "get_localtime(datetime, 'Europe/London'); it has no argument %(unknown)s",
                                 unknown=", ".join(unknown)))
        raise TypeError(said("get_localtime takes the datetime to convert and a time zone name: "
                             "get_localtime(datetime, 'Europe/London')"))
    moment = kwargs["datetime"] if "datetime" in kwargs else args[0]
    zone = kwargs.get("timezone", args[1] if len(args) > 1 else SPIFFARENA_ZONE)
    if not isinstance(moment, datetime.datetime):
        raise TypeError(said("get_localtime converts a datetime, not %(type)s: parse a text first "
                             "(datetime.fromisoformat(text))", type=type(moment).__name__))
    if not isinstance(zone, str) or zone not in zones():
        raise ValueError(said("get_localtime: %(zone)s is not a time zone name (an IANA name like 'Europe/London')",
                              zone=repr(zone)))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    local = moment.astimezone(zones()[zone])
    offset, name = local.utcoffset(), local.tzname()
    assert offset is not None and name is not None  # an aware datetime's, in a zone of the database
    return local.replace(tzinfo=datetime.timezone(offset, name))


def sanitize_for_md(text: Any) -> str:
    """SpiffArena's `sanitize_for_md`: the text with each `|` escaped for a Markdown table."""
    if not isinstance(text, str):
        raise TypeError(said("sanitize_for_md escapes a text, not %(type)s: convert it with str() first",
                             type=type(text).__name__))
    return text.replace("|", "\\|")


# Bound for a run only where the task's data holds no value of the name.
OFFERED: dict[str, Any] = {"timedelta": datetime.timedelta, "time": TIME, "get_localtime": get_localtime,
                           "sanitize_for_md": sanitize_for_md}
OFFERED_MODULES = (TIME,)
# `is_defined("x")`: whether the task's data holds a value (None too) under the name — FEEL's `is defined(x)`,
# which the import translates to it; bound per run to that run's data (`scripting`), so it is no value here
IS_DEFINED = "is_defined"
# `engine_now`: the moment on the engine's clock — FEEL's `now()` and `today()`, which the import translates to it;
# the script engine binds it to its clock for each run that reads it (`runner`), else it is the system's moment
ENGINE_NOW = "engine_now"
# What a script's `import` of a name gives instead of the module of that name.
IMPORTABLE: dict[str, ModuleType] = {"time": TIME}


def offered(context: dict[str, Any]) -> dict[str, Any]:
    """The offered names the data of `context` does not hide."""
    return {name: value for name, value in OFFERED.items() if name not in context}


def _server(instead: Said) -> Said:
    """A SpiffArena server function's reason: what to do instead."""
    return said("is a SpiffArena server function Loanflow does not provide: %(instead)s", instead=instead)


_NO_USER = said("Loanflow's scripts are not told who acts: give the user task a form field for the name, or route "
                "the task with its lane")
_POLICY = said("who may do what is Loanflow's access policy, not a script's data")
_TASK_PAGE = said("a task's page is Loanflow's own; notices and the inbox link to it")
_TASK_DATA = said("a script sees the task's data only")
_DOCUMENT = said("a document is attached to the instance, not read by scripts")
NOT_PROVIDED: dict[str, str] = {
    "get_secret": said("is SpiffArena's way to hand a script a secret, and scripts never see secrets in Loanflow: a "
                       "service task's operator holds the credentials it needs; call the service through one"),
    "get_env": _server(said("a script runs the same in every environment; keep what differs in an operator's "
                            "configuration or the process's data")),
    "get_current_user": _server(_NO_USER),
    "get_process_initiator_user": _server(_NO_USER),
    "get_last_user_completing_task": _server(_NO_USER),
    "get_group_members": _server(said("a user task is offered to its lane's role, and the inbox knows its members")),
    "get_all_permissions": _server(_POLICY),
    "get_frontend_url": _server(_TASK_PAGE),
    "get_url_for_task_with_bpmn_identifier": _server(_TASK_PAGE),
    "get_current_task_info": _server(_TASK_DATA),
    "get_current_task_data": _server(said("a script sees the task's data only; read its names directly")),
    "get_toplevel_process_info": _server(_TASK_DATA),
    "get_data_store_keys": _server(said("use a data store object of the process")),
    "get_encoded_file_data": _server(_DOCUMENT),
    "get_markdown_file_download_link": _server(_DOCUMENT),
    "markdown_file_download_link": _server(_DOCUMENT),
    "set_user_properties": _server(said("users are managed in Loanflow's administration")),
    "refresh_permissions": _server(_POLICY),
    "add_permission": _server(_POLICY),
    "delete_process_instances_with_criteria": _server(said("scripts act on their own instance's data only")),
    "time.sleep": said("is refused in Loanflow's scripts: a script that waits holds a worker; wait with a timer "
                       "event"),
    "open": said("is refused in Loanflow's scripts: a script never reads or writes files; attach documents to the "
                 "instance"),
}


def _defined(tree: ast.AST) -> set[str]:
    """Names the source itself binds (a function of its own called get_env is not SpiffArena's)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.alias) and (node.asname or node.name not in IMPORTABLE):
            names.add((node.asname or node.name).split(".")[0])  # `import time` is the offered stand-in
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


def calls_not_provided(source: str, mode: str) -> list[Said]:
    """The functions of `NOT_PROVIDED` that the source (`exec`: a script, `eval`: an expression) calls,
    in the order they first appear, each with why it is not there: '<name>(), which is <reason>'."""
    try:
        tree = ast.parse(source.strip() if mode == "eval" else source, mode=mode)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []  # reported as not compiling
    defined = _defined(tree)
    calls = sorted((node.lineno, node.col_offset, _called(node)) for node in ast.walk(tree)
                   if isinstance(node, ast.Call) and _called(node) in NOT_PROVIDED
                   and _called(node).split(".")[0] not in defined)
    found: dict[str, Said] = {}
    for _line, _column, name in calls:
        if name not in found:
            found[name] = said("%(name)s(), which %(why)s", name=name, why=NOT_PROVIDED[name])
    return list(found.values())


def _called(call: ast.Call) -> str:
    """`name` for `name(...)`, `time.sleep` for `time.sleep(...)`, '' otherwise."""
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name):
        return f"{call.func.value.id}.{call.func.attr}"
    return ""


__all__ = ["DATETIME", "IMPORTABLE", "NOT_PROVIDED", "OFFERED", "OFFERED_MODULES", "TIME", "calls_not_provided",
           "get_localtime", "offered", "sanitize_for_md", "zones"]
