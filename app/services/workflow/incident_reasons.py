"""An incident's reason in the reader's language: what the instance lacked or what failed, and what to do.

The engine stores the reason with the incident's details as a code and its parameters
(`app.engine.reasons`, with the English text); this module has every code's text in the catalogue
(English and Chinese in `messages.po`), so the repair page, the instance page and the API say it in
the reader's language; Python's own words inside a reason (a script's "TypeError: ...") are read in it too
where `app.engine.runtime_errors` knows them. The technical text stays the incident's `message`, for the
platform's staff.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.engine import runtime_errors
from app.services.context import lazy_gettext as _l
from app.services.workflow.diagram_reasons import in_language, kept_in_language

_TEXTS: dict[str, Callable[..., Any]] = {
    "missing_variable": lambda **p: _l(
        "The script at %(element)s reads %(name)s, which this instance has no value for: set it earlier in the "
        "process (a form field, a script or a service's answer), then retry.", **p),
    "missing_value": lambda **p: _l(
        "%(element)s reads %(name)s, which this instance has no value for: set it earlier in the process, then "
        "retry.", **p),
    "message_payload": lambda **p: _l(
        "The message %(message)s came without %(name)s, which the process reads from it (to match messages to "
        "their instance): send it again with %(name)s in its payload.", **p),
    "missing_decision_output": lambda **p: _l(
        "%(element)s reads %(name)s, which the decision %(decision)s sets, but the decision matched no rule for "
        "this instance's data: add a rule for these values (or one that matches anything), then retry.", **p),
    "no_condition_holds": lambda **p: _l(
        "None of the conditions on the flows leaving %(element)s holds for this instance's data, and the gateway "
        "has no default flow: the instance cannot go on from there; correct the data, or give the gateway a "
        "default flow, then retry.", **p),
    "condition_missing_variable": lambda **p: _l(
        "The condition %(expression)s at %(element)s reads %(name)s, which this instance has no value for: set it "
        "before the gateway is reached, then retry.", **p),
    "condition_failed": lambda **p: _l(
        "The condition %(expression)s at %(element)s could not be evaluated (%(error)s): correct the condition "
        "or the data it reads, then retry.", **p),
    "expression_missing_variable": lambda **p: _l(
        "The expression %(expression)s at %(element)s reads %(name)s, which this instance has no value for: set it "
        "before %(element)s is reached, then retry.", **p),
    "expression_failed": lambda **p: _l(
        "The expression %(expression)s at %(element)s could not be evaluated (%(error)s): correct the expression "
        "or the data it reads, then retry.", **p),
    "empty_value": lambda **p: _l(
        "The script at %(element)s used an empty value (None) on line %(line)s as if it had one (%(error)s): set "
        "the value earlier in the process, then retry.", **p),
    "script_failed": lambda **p: _l(
        "The script at %(element)s failed on line %(line)s (%(error)s): correct the script or the data it reads, "
        "then retry.", **p),
    "service_failed": lambda **p: _l(
        "The service %(operator)s at %(element)s failed %(attempts)s times for a technical reason (%(error)s): "
        "when the service works again, retry.", **p),
    "service_refused": lambda **p: _l(
        "The service %(operator)s at %(element)s could not go on (%(error)s). This is not an outage: record or "
        "correct what it names, then retry.", **p),
    "no_operator": lambda **p: _l(
        "The service task at %(element)s calls %(operator)s, which no handler serves here: register the operator "
        "(or map it to one), then retry.", **p),
    "called_process_missing": lambda **p: _l(
        "The call activity at %(element)s calls the process %(called)s, which was not deployed with this version: "
        "deploy it, then start the instance again.", **p),
    "multi_instance_input_missing": lambda **p: _l(
        "%(element)s runs once for each item of %(name)s, which this instance has no value for: set it (a list or "
        "a map) earlier in the process, then retry.", **p),
    "multi_instance_input_not_iterable": lambda **p: _l(
        "%(element)s runs once for each item of %(name)s, which holds no list or map: set it to one earlier in the "
        "process, then retry.", **p),
    "multi_instance_output_missing": lambda **p: _l(
        "An instance of %(element)s ended without setting %(item)s, which is collected into %(output)s: set "
        "%(item)s in each instance (a form field, a script or a service's answer), then retry.", **p),
    "data_object_unset": lambda **p: _l(
        "%(element)s writes the data object %(name)s, but the task did not set %(name)s: set it in the task (a form "
        "field, a script or a service's answer), or remove the data output association, then retry.", **p),
    "data_store_unset": lambda **p: _l(
        "%(element)s writes the data store %(store)s from its variable %(name)s, which the task did not set: set it "
        "in the task, or remove the data output association, then retry.", **p),
    "data_output_missing": lambda **p: _l(
        "%(element)s did not set its data output %(name)s: set it in the task (a form field, a script or a "
        "service's answer), then retry.", **p),
    "data_store_not_json": lambda **p: _l(
        "%(element)s writes the data store %(store)s a value that is not JSON (%(problem)s): a data store holds "
        "text, numbers, true/false, null, lists and objects; correct the task, then retry.", **p),
}
CODES = frozenset(_TEXTS)


def in_its_own_words(details: dict[str, Any] | None) -> bool:
    """Whether the incident's reason is the engine's own sentence (`reasons.of_said`), whose English is its message:
    said in the reader's language, the message would only repeat it."""
    found = (details or {}).get("reason")
    return isinstance(found, dict) and found.get("code") == "said"


def own_words(details: dict[str, Any] | None) -> Any:
    """What the failing handler said in its own words (`reasons.of_service`), in the reader's language: the why
    without the engine's frame (its operator's code, its attempts); None when it said nothing."""
    found = (details or {}).get("reason")
    if isinstance(found, dict) and isinstance(found.get("error_said"), dict):
        return kept_in_language(found["error_said"])
    return None


def reason_text(details: dict[str, Any] | None, element: str | None = None) -> Any:
    """The reason of an incident (its `details`) in the reader's language, or None when it has none.
    `element`, if given, replaces the element's id by its name in the reader's language."""
    found = (details or {}).get("reason")
    if isinstance(found, dict) and found.get("code") == "said":  # the engine's own words (`reasons.of_said`)
        return kept_in_language(found.get("said"))
    if not isinstance(found, dict) or found.get("code") not in _TEXTS:
        return None
    params = {k: str(v) for k, v in (found.get("params") or {}).items()}
    code = found["code"]
    if isinstance(found.get("error_said"), dict):  # a handler's own words (`reasons.of_service`): a refusal
        params["error"] = kept_in_language(found["error_said"])
        code = "service_refused" if code == "service_failed" else code  # as stored before refusals had their code
    elif "error" in params:  # Python's words, where the table knows them
        params["error"] = in_language(runtime_errors.said_of(params["error"]))
    if element:
        params["element"] = element
    try:
        return str(_TEXTS[code](**params))
    except (KeyError, TypeError, ValueError):  # a reason stored by another version, with other parameters
        return found.get("text")
