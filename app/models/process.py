"""Deployed diagrams, their numbered process/decision versions, forms and running instances."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models.types import BigId, JsonType, UTCDateTime, utcnow

INSTANCE_STATUSES = ("running", "waiting", "completed", "error", "cancelled")


class Deployment(Model):
    """One diagram file as it was deployed; the source is kept for export and history."""

    __tablename__ = "deployments"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(8))  # bpmn | dmn
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deployed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class FormVersion(Model):
    """A form file (JSON Schema or UI schema) as it was when a process using it was deployed."""

    __tablename__ = "form_versions"
    __table_args__ = (UniqueConstraint("filename", "content_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_hash: Mapped[str] = mapped_column(String(64))
    content: Mapped[dict[str, Any]] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProcessVersion(Model):
    """A numbered version of one process (or DMN decision) with its serialized, parsed spec."""

    __tablename__ = "process_versions"
    __table_args__ = (UniqueConstraint("kind", "process_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # process | decision
    process_id: Mapped[str] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(255))
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"))
    # Hash of the process's own file plus everything it embeds (decisions, forms).
    content_hash: Mapped[str] = mapped_column(String(64))
    spec: Mapped[str] = mapped_column(Text, deferred=True)  # serialized spec JSON, restored once, cached
    calls: Mapped[list[str]] = mapped_column(JsonType, default=list)  # called process ids
    forms: Mapped[dict[str, int]] = mapped_column(JsonType, default=dict)  # filename -> form_versions.id
    # The process's name by language ({"en": name, "zh": its name@zh property}); {} for decisions
    names: Mapped[dict[str, str]] = mapped_column(JsonType, default=dict, server_default="{}")
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deployment: Mapped[Deployment] = relationship(lazy="raise")


class TimerStart(Model):
    """When a timer start event of a process's newest version next starts an instance (Camunda 7's timer
    start jobs): written at deploy (a new version replaces its process's rows), advanced by the worker in
    the transaction of the instance it starts, so each firing starts one instance however many workers run."""

    __tablename__ = "timer_starts"
    __table_args__ = (UniqueConstraint("process_id", "element_id"), Index("ix_timer_starts_next_at", "next_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(255))
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    element_id: Mapped[str] = mapped_column(String(255))
    next_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: it starts no more
    remaining: Mapped[int] = mapped_column(Integer)  # starts left, counting the one at next_at; -1: no end
    interval_seconds: Mapped[float | None] = mapped_column(Float)  # None: it starts one instance only
    cron: Mapped[str | None] = mapped_column(String(200))  # a Quartz cron of uneven gaps: each start its next match
    started: Mapped[int] = mapped_column(Integer, default=0)  # instances it has started
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_instance_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("process_instances.id", ondelete="SET NULL"))
    # Why the last firing started no instance (said in English; shown in the reader's language)
    last_error: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProcessInstance(Model):
    """One running life of a process version: its engine state (without the spec) and summary."""

    __tablename__ = "process_instances"
    __table_args__ = (
        Index("ix_process_instances_process_status", "process_id", "status"),
        Index("ix_process_instances_business_key", "business_key"),
        Index("ix_process_instances_due_at", "due_at"),
        Index("ix_process_instances_started_by", "started_by_id"),  # the inbox: tasks of instances I started
        # instance search (instance_search.py, 0021_instance_waits): by version, status, start date
        Index("ix_process_instances_version_id", "process_version_id", "id"),
        Index("ix_process_instances_status_id", "status", "id"),
        Index("ix_process_instances_created_at", "created_at"),
        # one start per key and user: a form sent twice starts one instance (start_keys.py, 0029)
        Index("ux_process_instances_start_key", "started_by_id", "start_key", unique=True),
        # the inbox's search (part of a business key): PostgreSQL with pg_trgm only (0006_inbox_scale);
        # `info` tells the migrations' comparison (migrations/env.py) where the index exists
        Index("ix_process_instances_business_key_trgm", "business_key", postgresql_using="gin",
              postgresql_ops={"business_key": "gin_trgm_ops"},
              info={"postgresql_extension": "pg_trgm"}).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    process_id: Mapped[str] = mapped_column(String(255))
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    business_key: Mapped[str | None] = mapped_column(String(128))
    data: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    state: Mapped[str] = mapped_column(Text, deferred=True)  # engine state without the spec
    # Called process id -> process_versions.id, fixed when the instance starts.
    pins: Mapped[dict[str, int]] = mapped_column(JsonType, default=dict)
    error: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    # When the worker must wake the instance next (its earliest timer or service retry).
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Names of the messages the instance waits for (mirrored in message_waits for lookup).
    waiting_for: Mapped[list[str]] = mapped_column(JsonType, default=list, server_default="[]")
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The key the start came with (the start page's form, the API's idempotency_key): the same again answers this.
    start_key: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lock_version: Mapped[int] = mapped_column(Integer, nullable=False)
    # The hash of the instance's latest event: the head of its history's chain (history_chain.py).
    last_event_hash: Mapped[str | None] = mapped_column(String(64))

    __mapper_args__ = {"version_id_col": lock_version}


class InstanceParty(Model):
    """The organisation that plays one party kind (funder, borrower, ...) in an instance's deal."""

    __tablename__ = "instance_parties"
    __table_args__ = (
        # instance_id included: the inbox's party filter reads a party's instances from the index
        Index("ix_instance_parties_org_party", "org_id", "party", "instance_id"),
        Index("ix_instance_parties_instance_org", "instance_id", "org_id"),
    )

    instance_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("process_instances.id", ondelete="CASCADE"), primary_key=True)
    party: Mapped[str] = mapped_column(String(32), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))


class MessageWait(Model):
    """An instance waiting for a message of this name, found by the instance's business key."""

    __tablename__ = "message_waits"
    __table_args__ = (Index("ix_message_waits_name_key", "name", "business_key"),)

    instance_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("process_instances.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    business_key: Mapped[str] = mapped_column(String(128))


class InstanceWait(Model):
    """An element where an instance waits now (a ready user task, a timer, a message catch, a receive
    task, an event-based gateway and its events, a failed or retrying element), written by each step
    (`step_store`): instance search finds instances by it without loading their workflows."""

    __tablename__ = "instance_waits"
    __table_args__ = (Index("ix_instance_waits_element", "element_id", "instance_id"),)

    instance_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("process_instances.id", ondelete="CASCADE"), primary_key=True)
    element_id: Mapped[str] = mapped_column(String(255), primary_key=True)


class ExternalTask(Model):
    """A service task an external worker does (Camunda 7's external task pattern), while its instance waits for the
    worker (`app/services/workflow/external_tasks.py`): which worker holds it and until when, what a failed try
    said and when it may be fetched again, and — between a worker's answer and the step that takes it — the answer."""

    __tablename__ = "external_tasks"
    __table_args__ = (
        UniqueConstraint("instance_id", "engine_task_id", name="uq_external_tasks_task"),
        Index("ix_external_tasks_topic", "topic", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(BigId, ForeignKey("process_instances.id", ondelete="CASCADE"))
    engine_task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(255))
    worker_id: Mapped[str | None] = mapped_column(String(255))
    lock_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retries: Mapped[int | None] = mapped_column(Integer)
    available_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a failed try's retry timeout
    error_message: Mapped[str | None] = mapped_column(Text)
    error_details: Mapped[str | None] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(String(16))  # completed | bpmn_error | failed, until a step takes it
    result: Mapped[Any] = mapped_column(JsonType, nullable=True)  # the variables, or the BPMN error's code and message
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboxMessage(Model):
    """A message kept until an instance waits for it (provider callbacks that arrive early)."""

    __tablename__ = "message_inbox"
    __table_args__ = (
        Index("ix_message_inbox_pending", "correlation_key", "name", "delivered_at"),
        UniqueConstraint("dedup_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    correlation_key: Mapped[str] = mapped_column(String(128))
    payload: Mapped[Any] = mapped_column(JsonType, nullable=True)
    dedup_key: Mapped[str | None] = mapped_column(String(255))  # a provider's own id: the same callback twice is kept once
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    instance_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("process_instances.id"))


class Incident(Model):
    """An instance that cannot go on by itself: a service that kept failing, a script error, ..."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_open", "resolved_at", "instance_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(BigId, ForeignKey("process_instances.id", ondelete="CASCADE"))
    element_id: Mapped[str | None] = mapped_column(String(255))
    engine_task_id: Mapped[str | None] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int | None] = mapped_column(Integer)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    details: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
