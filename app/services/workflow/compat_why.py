"""Why a process of `processes compat` did not run, in a few groups, so that one run shows its ceiling.

Each row that did not run already says its first reason in words; this module sorts that reason into
a group by what kind of reason it is (never by which file it came from):

- the diagram **does not say what to run** (a timer without a time, a call activity naming no
  process, a message event naming no message, an expression that does not compile, ...);
- **refused by rule**: what Loanflow will not run (a script in another language, a call a script may
  not make, a method with no safe meaning, a timer faster than the floor, SpiffArena's server
  functions);
- **written for an older SpiffWorkflow**: attribute access on dictionaries (`payload.field`), which the
  dictionaries of SpiffWorkflow 1 allowed and SpiffWorkflow 3 refuses;
- **fails as written**: its own script or condition errs on the data it has, or it loops (or waits for a
  condition) with nothing that could change its way;
- **needs a file the folder lacks**: a form, a called process, a decision, a message's sender;
- **needs what only the outside world gives**: the data a caller starts it with, a service's real
  answer, a person's answer no form asks for, a payload only the sender knows;
- **not yet in Loanflow**: what a future Loanflow could run (compensation deep in a compensation event
  sub-process, an event sub-process the import cannot draw, a transforming data output, FEEL the
  translation does not read, a parallel split looping back);
- **Loanflow's own defect** (an unexpected exception, a false completion), and **unclassified**: a
  reason no rule here knows, shown so that a new kind of reason is seen and given its group.

The first four groups cannot run as written: whatever the folder held, these diagrams stop. What is
left is the ceiling. Take from it the two groups that need what the folder lacks, and what is left is
runnable with what the folder holds: of those, the share that ran is Loanflow's own figure (what is
not yet in Loanflow, its defects and any unclassified reason count against it).
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from app.engine.said import said

# (code, what the summary prints), in the order printed
GROUPS: tuple[tuple[str, str], ...] = (  # each label said: the summary is read in the command line's language
    ("unsaid", said("the diagram does not say what to run")),
    ("refused", said("refused by rule (safety, or a language Loanflow does not run)")),
    ("older", said("written for an older SpiffWorkflow (attribute access on dictionaries)")),
    ("fails", said("fails as written (its own script or condition errs, or it loops for ever)")),
    ("folder", said("needs a file the folder lacks (a form, a called process, a decision, a sender)")),
    ("outside", said("needs what only the outside world gives (start data, a service's answer, a payload)")),
    ("not_yet", said("not yet in Loanflow")),
    ("defect", said("Loanflow's own defect (an unexpected exception, a false completion)")),
    ("unclassified", said("a reason no group knows yet")),
)
LABELS = dict(GROUPS)
# the groups whose diagrams stop whatever the folder holds
AS_WRITTEN_STOPS = frozenset({"unsaid", "refused", "older", "fails"})

# (group, pattern on the reason), first match wins; the order puts the specific before the general
_RULES: tuple[tuple[str, str], ...] = (
    # -- not yet in Loanflow ------------------------------------------------------------------
    ("not_yet", r"Loanflow does not draw a .* deeper in it"),
    ("not_yet", r"the ad-hoc sub-process cannot run"),
    ("refused", r"a complex gateway cannot run"),  # compensation inside a compensation event sub-process
    ("refused", r"is outside the years \d+–\d+"),
    ("refused", r"the decision is chosen at run time by the expression|calls a fixed version of decision|chooses the "
                r"process it calls at run time|chooses its form at run time"),  # the engine's bounds on a timer date (a "never" far ahead)
    ("not_yet", r"the event sub-process would never start"),
    ("not_yet", r"the data output association of .* changes the value of"),
    ("not_yet", r"is not translated"),  # FEEL that the translation does not read yet
    # a Camunda form's list inside a list's rows, file picker in a table, group with a path, choice made by an expression
    ("not_yet", r"is a list inside a list's rows|Loanflow's forms take files outside a table of rows|sets its fields "
                r"inside the variable|takes the files an expression names|takes several files or one as an expression|"
                r"Loanflow's forms ask for a date, a time or both"),
    ("refused", r"takes only files Loanflow does not keep"),
    ("not_yet", r"fires at uneven gaps|is not a fixed period"),  # cron schedules without one period
    ("not_yet", r"which Camunda counts"),  # nrOfInstances and its kin
    ("not_yet", r"input/output mappings on (a|the) (startEvent|endEvent|intermediate\w*Event|boundaryEvent|start "
                r"event|end event|intermediate \w+ event|boundary event) are not supported"),
    ("not_yet", r"\(end\) on the (process|event sub-process): it fires once, when the last"),
    # -- refused by rule ----------------------------------------------------------------------
    ("refused", r"is written in [^;]+; Loanflow runs only Python"),
    ("refused", r"Loanflow runs no code at a gateway|(camunda|zeebe):taskListener \(.*\) has no moment"),
    ("refused", r"the condition is written in \S+; Loanflow runs Python"),
    ("refused", r"its value is a \w+ script"),
    ("refused", r"which is a SpiffArena server function"),
    ("refused", r"SpiffArena's way to hand a script a secret"),
    ("refused", r"is refused in Loanflow's scripts"),
    ("refused", r"SandboxViolation"),
    ("refused", r"has no safe meaning in Loanflow"),
    ("refused", r"more often than every"),
    ("refused", r"is SpiffArena's \w+DataStore"),
    ("refused", r"(?<!that file )\bis refused\b"),  # a decision file that is refused: its own row's group
    ("refused", r"which the sandbox does not allow"),
    ("refused", r"is longer than|nested more than \d+ deep|is too (long|large)"),
    ("refused", r"parallel branches: more than the|one instance runs in turn"),  # the fan-out limits
    ("refused", r"Loanflow offers (a|the) task|offers the task to several people"),
    ("refused", r"DOCTYPE|entity declarations"),
    ("refused", r"not CMMN cases"),
    # -- written for an older SpiffWorkflow ---------------------------------------------------
    ("older", r"'dict' object has no attribute"),
    # -- needs a file the folder lacks --------------------------------------------------------
    ("folder", r"form file .* does not exist"),
    ("folder", r"which no file under \S+ defines"),
    ("folder", r"defines, but that file is refused"),
    ("folder", r"of a message it waits for did not start"),
    ("folder", r"is not deployed"),
    ("folder", r"kept outside the diagram|kept in a file \("),  # a script in a file the folder does not hold
    ("folder", r"No DMN Diagram available with id"),
    # -- needs what only the outside world gives ----------------------------------------------
    ("outside", r"not sent: its catch event reads .* from the payload"),
    ("outside", r"came without \S+, which the process reads from it"),
    ("outside", r"was not taken by the catch event waiting for it with the correlation values"),
    ("outside", r"the connector's outputParameter"),
    ("outside", r"which this instance has no value for"),
    ("outside", r"ended without setting"),
    ("outside", r"the process has not provided the choices for this field"),  # choices from data it lacks
    ("outside", r"is mapped to no operator|runs no operator: choose"),  # an admin maps it (the operator mapping table)
    ("outside", r"\(camunda:candidateGroups\), which is no role here"),  # the organisation's groups, not the diagram's
    ("outside", r"its start condition .* (cannot be evaluated on|does not hold for) the data it is started with"),
    ("outside", r"writes the data store .* from its variable \S+, which the task did not set"),
    ("outside", r"did not set its data output|but the task did not set"),
    ("outside", r"runs once for each item of \S+, which (this instance has no value for|holds no list)"),
    ("outside", r"but the decision matched no rule"),
    ("outside", r"\((KeyError|IndexError): "),
    ("outside", r"kept coming back;.*with the answers its form offers"),  # a person's answer it could not guess
    ("outside", r"used an empty value \(None\)"),
    ("outside", r"incident at \S+: timer: a timer date must be an ISO 8601 date-time, got"),  # data a person gives
    ("outside", r"could not be evaluated \((ValueError|KeyError)"),
    # -- fails as written ---------------------------------------------------------------------
    ("fails", r"failed on line \d+ \(\w+(Error|Exception)\b"),
    ("fails", r"could not be evaluated \("),
    ("fails", r"(?i)none of the conditions on the flows leaving \S+ holds"),
    ("fails", r"would wait here for a condition that nothing can make true"),
    ("fails", r"waits at the join .* for a path that can no longer reach it"),
    ("fails", r"kept coming back;"),  # a loop on events, or a task without a form
    ("fails", r"task tree reached depth \d+"),  # a loop of automatic tasks with nothing to leave it
    # -- the diagram does not say what to run -------------------------------------------------
    ("unsaid", r"the timer has no time"),
    ("unsaid", r"the boundary event has no event definition|an assignment \(=\) is not an operator of JUEL"),
    ("unsaid", r"FEEL compares with one =, not =="),  # no FEEL: Camunda 8 refuses it too
    ("unsaid", r"the compensation boundary event (names no handler|is joined to)|a compensation boundary event has "
               r"no outgoing|the compensation handler \S+ is on a sequence flow|cannot be a compensation event|is a "
               r"compensation event only in an event sub-process|the compensation event sub-process would never run|"
               r"a compensation event sub-process has one start|the compensation event names \S+, which is not"),
    ("unsaid", r"attribute for Call Activity|calls its own process|zeebe:calledElement names no processId"),
    ("unsaid", r"zeebe:script has no expression|zeebe:script keeps its value in .*, which is no variable name|"
               r"has both a script and a zeebe:script|camunda:priority .* is no whole number, nor an expression|"
               r"camunda:(dueDate|followUpDate) .* is neither an ISO 8601 date|a task listener belongs to a user task|"
               r"zeebe:executionListener on event .*: an element's listener fires on start or end|"
               r"a start event has no inputs: nothing runs before it"),
    ("unsaid", r"loopMaximum or loopCondition"),
    ("unsaid", r"names no (message|signal)"),
    ("unsaid", r"says neither how many"),
    ("unsaid", r"both a loop cardinality and"),
    ("unsaid", r"has no script"),
    ("unsaid", r"does not compile"),
    ("unsaid", r"has no outgoing flow"),
    ("unsaid", r"no executable process in this file"),
    ("unsaid", r"no link throw event|the link catch events .* share the name"),
    ("unsaid", r"missing correlation property|identifier is missing from correlation property"),
    ("unsaid", r"is not an ISO 8601"),
    ("unsaid", r"names '[^']*', which no element"),
    ("unsaid", r"Cancel Events may only be used"),
    ("unsaid", r"malformed XML|not well-formed"),
    ("unsaid", r"is not valid JSON\b|is not a valid JSON Schema"),
    # what the file names and does not hold (`references`), and what SpiffWorkflow could not read
    ("unsaid", r"which its file (does not define|defines \d+ times)"),
    ("unsaid", r"the sequence flow (comes from|goes to) '[^']*', which no element"),
    ("unsaid", r"the sequence flow has no (sourceRef|targetRef)"),
    ("unsaid", r"the sequence flow (goes to the start|comes from the end) event"),
    ("unsaid", r"No start event found"),
    ("unsaid", r"Duplicate process ID"),
    ("unsaid", r"must specify exactly one of cardinality or loop input|data reference is missing from the IO"),
    ("unsaid", r"repeat markers .*: an activity repeats in one way|cardinality is -\d+: it says how many"),
    ("unsaid", r"has no name: a (message|signal) is sent and caught by its name"),
    ("unsaid", r"carries a (multi-instance|loop) marker: only an activity"),
    ("unsaid", r"the boundary event is attached to"),
    ("unsaid", r"an event-based gateway waits for the first of the events after it|the event-based gateway has no "
               r"flow leaving it"),
    ("not_yet", r"sends a path back to before itself with no join on the way"),
    ("unsaid", r"names the outgoing flow '[^']*', which the .* does not have, and no other flow leaves it"),
    ("unsaid", r"elements of the file have the id"),
    ("unsaid", r"which is not a number: the file is damaged"),
    ("unsaid", r"SpiffWorkflow could not read the element"),
    # an expression or a timer that does not parse
    ("unsaid", r"cannot (run|be read): .*(unexpected |expected |ends too early|has no closing|is not closed|cannot stand "
               r"here|is not a variable name|is not part of the expression language|takes \d+ arguments?, got|has "
               r"spaces|is a Python keyword|contains '\$'|mixes text|makes a text, not a condition|starts with \$\{)"),
    ("unsaid", r"is out of range|a cron expression has 6 or 7 fields|\(Unix style\) is not read"),
    ("unsaid", r"is an expression, not a variable"),
    ("unsaid", r"names no form"),
    ("unsaid", r"names no (connectorId|topic|type): give it one"),
    ("unsaid", r"listener fires on start or end|on the (process|event sub-process): it fires on start or end|names no "
               r"implementation \(no class"),
    ("unsaid", r"input/output mappings on (a|the) [\w -]+ are not supported"),
    ("unsaid", r"is no timer value: the time\w+ needs"),
    ("unsaid", r"the time\w+ holds (a cron expression|an ISO 8601)"),
    ("unsaid", r"has no id: |has no id\b.*give it one"),
    ("unsaid", r"which the file does not define|the file does not define"),
    ("unsaid", r"Exactly one start event"),
)
_COMPILED = tuple((group, re.compile(pattern, re.S)) for group, pattern in _RULES)


def group_of(reason: str, defect: bool = False) -> str:
    """The group of a row that did not run, from its reason (`defect`: a traceback or a false completion)."""
    if defect:
        return "defect"
    for group, pattern in _COMPILED:
        if pattern.search(reason):
            return group
    return "unclassified"


@dataclass(frozen=True)
class Ceiling:
    """What a run's groups say together."""

    executable: int
    ran: int
    counts: Counter[str]

    @property
    def stops_as_written(self) -> int:
        return sum(self.counts[g] for g in AS_WRITTEN_STOPS)

    @property
    def ceiling(self) -> int:
        """The processes that could run if the folder held all they need (and Loanflow all it lacks)."""
        return self.executable - self.stops_as_written

    @property
    def runnable_here(self) -> int:
        """The processes runnable with what the folder holds: all but those that stop as written and
        those that need what the folder lacks."""
        return self.ceiling - self.counts["folder"] - self.counts["outside"]

    def lines(self) -> list[str]:
        """The summary's lines, each said (English as it is; `in_language` reads it in another)."""
        groups = [said("not run, %(group)s: %(count)d", group=LABELS[g], count=self.counts[g])
                  for g, _ in GROUPS if self.counts[g]]
        return [*groups,
                said("cannot run as written: %(stops)d; ceiling %(ceiling)d of %(executable)d (%(share)s)",
                     stops=self.stops_as_written, ceiling=self.ceiling, executable=self.executable,
                     share=_share(self.ceiling, self.executable)),
                said("runnable with what the folder holds: %(runnable)d; ran %(ran)d of them (%(share)s)",
                     runnable=self.runnable_here, ran=self.ran, share=_share(self.ran, self.runnable_here))]


def ceiling(executable: int, ran: int, groups: Iterable[str]) -> Ceiling:
    return Ceiling(executable, ran, Counter(groups))


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "n/a"
