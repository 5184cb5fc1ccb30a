"""Camunda 7's `camunda:failedJobRetryTimeCycle`, in the import layer: how a failing service is retried.

Camunda retries a failed job as the element's cycle says; Loanflow retries a failing service call
(`retry_policy`). On a service task that calls an operator (its own, or one the mapping table gave it,
`camunda_services`), the cycle becomes the task's retry setting, and the change is a warning:

- `R5/PT5M`: five retries, five minutes apart (`spiffworkflow:retry retries="5"` and
  `spiffworkflow:retryIntervals` `PT5M`);
- `PT1M,PT5M,PT10M` (Camunda 7.7's list): one retry after each interval, in order.

A cycle Loanflow cannot read (an expression, a cycle without a count, more than
`retry_policy.MAX_RETRIES` retries, an interval shorter than a second) is left in place, and
`camunda_process` says it is not read, with why. So is a cycle on anything else (a script task, a user
task, a timer): only a service call is tried again here; any other failure is an incident at once.
"""
from __future__ import annotations

import re

from lxml import etree

from app.engine import retry_policy
from app.engine.errors import DiagramProblem
from app.engine.said import said
from app.engine.service_implementations import CAMUNDA_NS
from app.engine.xml import BPMN_NS
from app.engine.xml import source_line as _line

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_B, _S = f"{{{BPMN_NS}}}", f"{{{SPIFF_NS}}}"
CYCLE = f"{{{CAMUNDA_NS}}}failedJobRetryTimeCycle"
NOT_READ = f"{{{CAMUNDA_NS}}}retryCycleNotRead"  # on a cycle left in place: why (for `camunda_process`)
_REPEATED = re.compile(r"R(\d+)/(P\S+)", re.IGNORECASE)


def read(text: str) -> tuple[int, str] | str:
    """A cycle as (retries, intervals), or why it cannot be read."""
    text = text.strip()
    repeated = _REPEATED.fullmatch(text)
    if repeated:
        count, intervals = int(repeated.group(1)), repeated.group(2)
        if count > retry_policy.MAX_RETRIES:
            return said("more than %(most)d retries", most=retry_policy.MAX_RETRIES)
    elif text.upper().startswith("P") or "," in text:
        count, intervals = len(retry_policy.split(text)), ",".join(retry_policy.split(text))
    else:
        return said("it is neither Rn/interval nor a list of intervals")
    return retry_policy.interval_problem(intervals) or (count, intervals)


def prepare(root: etree._Element, filename: str) -> list[DiagramProblem]:
    """Each service task's cycle written as its retry setting; the changes as warnings."""
    changes: list[DiagramProblem] = []
    for cycle in list(root.iter(CYCLE)):
        holder = cycle.getparent()
        element = holder.getparent() if holder is not None else None
        if element is None or etree.QName(element).localname != "serviceTask":
            continue
        operator = holder.find(f"{_S}serviceTaskOperator")
        if operator is None:
            continue  # an unmapped service: the strict check names it first
        found = read(cycle.text or "")
        if isinstance(found, str):
            cycle.set(NOT_READ, found)
            continue
        count, intervals = found
        for old in operator.findall(f"{_S}retry"):
            operator.remove(old)
        etree.SubElement(operator, f"{_S}retry", retries=str(count))
        for old in holder.findall(f"{_S}{retry_policy.INTERVALS}"):
            holder.remove(old)
        etree.SubElement(holder, f"{_S}{retry_policy.INTERVALS}").text = intervals
        holder.remove(cycle)
        changes.append(DiagramProblem(filename, element.get("id"), said(
            "camunda:failedJobRetryTimeCycle %(cycle)r: a failing call is retried %(count)d times, after %(intervals)s, "
            "then it is an incident", cycle=(cycle.text or "").strip(), count=count,
            intervals=intervals.replace(",", ", ")), _line(element), "warning"))
    return changes
