"""`processes compat`: one instance driven from its start to an end, as people and senders would.

Each action moves a waiting instance: a ready user task completed with data from its form
(`tasks.complete_task`), a signal sent, an awaited message delivered with the instance's business
key and the correlation values a real sender would know (`correlation_values`), a due timer
fast-forwarded (the clock moved to `due_at`, then `waking.wake_instance`). The action taken least
often so far goes first (a new user task before a timer; a task the instance came back to after the
timer, the message not yet delivered before the one delivered already), and a task answered before
is answered differently (`compat_answers`), so that a loop meant to end on another answer or on a
boundary event is given one. After `MAX_STEPS` actions the row says what kept coming back.

A message that a process deployed with the instance sends is first left to its sender. The
messages instances throw are passed on after every action as the worker's outbox pass would
(`outbox_delivery`), starting the processes that start on them; the other instances of the business
key are acted on as the instance itself is; and when the instance waits for a message whose sender
has no instance yet, the sender is started with the same key. Such a message is delivered as above
only after every other action taken as often (a sender that loops without sending, say).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

from sqlalchemy import select

from app.engine.correlation_values import SenderPayload, sender_payload
from app.engine.runner import SIGNAL_PREFIX
from app.extensions import db
from app.models import HumanTask, InstanceEvent, InstanceWait, ProcessInstance
from app.models.task import OPEN_TASK_STATES
from app.services.errors import ServiceError
from app.services.identity.directory import Principal
from app.services.workflow import instances, messages, signals, tasks, waking
from app.services.workflow.compat_answers import form_data
from app.services.workflow.compat_report import Row, one_line
from app.services.workflow.outbox_delivery import deliver_outbox
from app.services.workflow.runtime import runtime

MAX_STEPS = 60  # actions on one instance before it is called a loop

Action = tuple[str, str]  # (kind, what): ("task", element id), ("signal", name), ("message", name), ("timer", "")
_ORDER = {"task": 0, "signal": 1, "message": 2, "timer": 3, "start": 4, "made up": 5}


def _waiting_joins(instance: ProcessInstance) -> list[str]:
    """The joins where the instance's paths wait for others (from its state)."""
    rt = runtime()
    spec, subprocess_specs = rt.specs.workflow_specs(instance.process_version_id, instance.pins or {})
    return rt.engine.waiting_joins(rt.engine.restore(instance.state, spec, subprocess_specs))


class SettableClock:
    """The throwaway application's clock: the run moves it forward to fire timers, never back."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.current

    def move_to(self, moment: datetime) -> None:
        self.current = max(self.current, moment)


def _conversation_payload(instance_id: int, name: str) -> SenderPayload:
    """What a sender of `name` would put in the payload to meet the waiting catch event's correlation."""
    instance = db.session.get(ProcessInstance, instance_id)
    assert instance is not None
    spec, subprocess_specs = runtime().specs.workflow_specs(instance.process_version_id, instance.pins)
    return sender_payload(runtime().engine.restore(instance.state, spec, subprocess_specs), name)


class InstanceDriver:
    """Drives one instance of `process_id`; the outcome lands in `row`."""

    def __init__(self, clock: SettableClock, admin: Principal, row: Row, hints: dict[str, list[str]] | None = None,
                 senders: dict[str, set[str]] | None = None) -> None:
        self.clock = clock
        self.hints = hints or {}
        self.senders = senders or {}  # message name -> the processes deployed with the instance that send it
        self.key = ""
        self.formless: set[str] = set()  # user tasks completed without a form
        self.admin = admin
        self.row = row
        self.taken: Counter[Action] = Counter()

    def drive(self, process_id: str, business_key: str, has_end_event: bool) -> None:
        row = self.row
        self.key = business_key
        try:
            instance_id = self._start(process_id)
        except ServiceError as exc:
            db.session.rollback()
            row.reason = one_line(f"did not start: {exc.message}")
            return
        for _ in range(MAX_STEPS):
            self._pass_messages()
            db.session.remove()
            instance = db.session.get(ProcessInstance, instance_id)
            assert instance is not None
            if instance.status != "waiting":
                self._ended(instance, has_end_event)
                return
            try:
                moved = self._act(instance)
            except ServiceError as exc:
                db.session.rollback()
                row.reason = row.reason or one_line(exc.message)
                return
            if not moved:
                return
        row.reason = self._loop_reason()

    def _pass_messages(self) -> None:
        """The messages the instances threw, passed on as the worker's outbox pass would (a pass may
        start instances that throw more)."""
        for _ in range(MAX_STEPS):
            if deliver_outbox() == 0:
                return

    def _loop_reason(self) -> str:
        (kind, what), times = self.taken.most_common(1)[0]
        said = {"task": f"user task {what} was completed {times} times",
                "signal": f"signal {what!r} was sent {times} times",
                "message": f"message {what!r} was delivered {times} times",
                "made up": f"message {what!r} was delivered {times} times",
                "timer": f"a timer fired {times} times",
                "start": f"process {what!r} was started {times} times"}[kind]
        why = "" if kind != "task" else (" (it has no form: no answer could take another way)"
                                         if what in self.formless else " with the answers its form offers")
        return one_line(f"no end event after {MAX_STEPS} steps: it kept coming back; {said}{why} and no other "
                     "action was left that led elsewhere")

    def _ended(self, instance: ProcessInstance, has_end_event: bool) -> None:
        row = self.row
        if instance.status == "completed":
            ends = db.session.scalars(select(InstanceEvent.details).where(
                InstanceEvent.instance_id == instance.id, InstanceEvent.kind == "completed")).all()
            row.end_events = [e for d in ends for e in (d or {}).get("end_events", [])]
            if row.end_events:
                row.ran = True
                row.reason = ""
            else:
                row.false_completion = True
                row.reason = "FALSE COMPLETION: completed without reaching an end event " + (
                    "(the process has end events: none was reached)" if has_end_event
                    else "(the process has none: it stops after its last element)")
        elif instance.status == "error":
            error = instance.error or {}
            where = f" at {error['element_id']}" if error.get("element_id") else ""
            said = (error.get("reason") or {}).get("text") or error.get("message", "")  # the actionable reason
            row.reason = one_line(f"incident{where}: {said}")
        else:
            row.reason = f"instance is {instance.status}"

    def _choices(self, instance: ProcessInstance, of: str = "") -> list[tuple[Action, Callable[[], bool]]]:
        """Every action that could move the instance now, each with how to take it (`of`: the process
        of another instance of the key, before what each action names)."""
        found: list[tuple[Action, Callable[[], bool]]] = []
        for task in db.session.scalars(select(HumanTask).where(
                HumanTask.instance_id == instance.id, HumanTask.state.in_(OPEN_TASK_STATES)).order_by(HumanTask.id)):
            found.append((("task", of + task.element_id), partial(self._complete, task)))
        names = list(instance.waiting_for or [])
        for name in names:
            if name.startswith(SIGNAL_PREFIX):
                signal = name[len(SIGNAL_PREFIX):]
                found.append((("signal", signal), partial(self._signal, signal)))
        for name in (n for n in names if not n.startswith(SIGNAL_PREFIX)):
            kind = "made up" if self.senders.get(name) else "message"  # a sender here sends it
            key = messages.wait_key(instance.id, name) or instance.business_key or ""  # the key its event says, if any
            found.append(((kind, of + name), partial(self._message, instance.id, name, key)))
        if instance.due_at is not None:
            found.append((("timer", of), partial(self._timer, instance.id, instance.due_at)))
        return found

    def _others(self, instance: ProcessInstance) -> list[ProcessInstance]:
        """The other waiting instances of the business key (started by a message, or as a sender), oldest first."""
        return list(db.session.scalars(select(ProcessInstance).where(
            ProcessInstance.business_key == instance.business_key, ProcessInstance.id != instance.id,
            ProcessInstance.status == "waiting").order_by(ProcessInstance.id)))

    def _starts(self, waiting: list[ProcessInstance]) -> list[tuple[Action, Callable[[], bool]]]:
        """A sender to start for each message the instances wait for whose senders have no instance of the key."""
        started = set(db.session.scalars(select(ProcessInstance.process_id).where(
            ProcessInstance.business_key == self.key)))
        found: list[tuple[Action, Callable[[], bool]]] = []
        for instance in waiting:
            for name in instance.waiting_for or []:
                senders = sorted(self.senders.get(name, set()) - {instance.process_id})
                if senders and not started & set(senders):
                    found.append((("start", senders[0]), partial(self._start_sender, senders[0])))
        return found

    def _act(self, instance: ProcessInstance) -> bool:
        """One action that should move a waiting instance or another of its key; False (with the reason)
        when none can. A message a sender here sends is made up last among the actions taken as often."""
        others = self._others(instance)
        choices = self._choices(instance) + [c for other in others for c in self._choices(other, f"{other.process_id}/")]
        choices += self._starts([instance, *others])
        if not choices:
            waits = db.session.scalars(select(InstanceWait.element_id).where(
                InstanceWait.instance_id == instance.id)).all()
            joins = _waiting_joins(instance)
            self.row.reason = one_line(
                f"waits at the join {', '.join(joins)} for a path that can no longer reach it (it ended, or went "
                "another way)" if joins and not waits
                else "waits with nothing that can move it" + (f" at {', '.join(waits)}" if waits else ""))
            return False
        action, take = min(choices, key=lambda c: (self.taken[c[0]], _ORDER[c[0][0]]))
        self.taken[action] += 1
        return take()

    def _start(self, process_id: str) -> int:
        """Start an instance of the process with the business key, with data from its start form (as a
        person fills a task's form), when its start event asks one."""
        schema = instances.start_form(process_id)
        data = form_data(schema, 0, self.hints) if schema is not None else None
        return int(instances.start(process_id, self.admin, business_key=self.key, data=data)["id"])

    def _start_sender(self, process_id: str) -> bool:
        db.session.rollback()
        try:
            self._start(process_id)
        except ServiceError as exc:
            db.session.rollback()
            self.row.reason = one_line(f"the sender {process_id!r} of a message it waits for did not start: {exc.message}")
            return False
        return True

    def _complete(self, task: HumanTask) -> bool:
        """Complete the task with answers from its form, as the task shows it (`tasks.task_form`)."""
        task_id, element_id = task.id, task.element_id
        schema, ui = tasks.task_form(task)
        if schema is None:
            self.formless.add(element_id)
        db.session.rollback()
        try:
            answers = form_data(schema, self.taken[("task", element_id)] - 1, self.hints, ui)
            tasks.complete_task(task_id, answers, self.admin)
        except ServiceError as exc:
            self.row.reason = one_line(f"user task {element_id}: {exc.message} "
                                    + "; ".join(m for ms in exc.fields.values() for m in ms))
            return False
        return True

    def _signal(self, signal: str) -> bool:
        db.session.rollback()
        if signals.send_signal(self.admin, signal, {}).delivered_to:
            return True
        self.row.reason = one_line(f"signal {signal!r} was sent and no catch event took it")
        return False

    def _message(self, instance_id: int, name: str, key: str) -> bool:
        sender = _conversation_payload(instance_id, name)
        db.session.rollback()
        if sender.missing:  # a message without its correlation values is refused by the catch event: not sent
            self.row.reason = one_line(
                f"message {name!r} not sent: its catch event reads {', '.join(sender.missing)} from the payload to "
                "match it to its conversation, and neither the conversation so far nor the waiting instance "
                "holds a value for it; only the sender of the message knows it")
            return False
        try:
            messages.deliver_message(name, key, sender.payload)
        except ServiceError:
            said = " with the correlation values of the conversation" if sender.payload else ""
            self.row.reason = one_line(f"message {name!r} was not taken by the catch event waiting for it{said}")
            return False
        return True

    def _timer(self, instance_id: int, due_at: datetime) -> bool:
        self.clock.move_to(due_at)
        db.session.rollback()
        if waking.wake_instance(instance_id):
            return True
        self.row.reason = one_line(f"a timer was due at {due_at.isoformat()} and the instance did not wake")
        return False
