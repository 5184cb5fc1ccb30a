"""The SQLAlchemy models, one module per aggregate."""
from app.models.event import InstanceEvent
from app.models.identity import ApiToken, Organisation, OrgKind, User, UserRole
from app.models.process import (
    Deployment,
    FormVersion,
    InboxMessage,
    Incident,
    InstanceParty,
    MessageWait,
    ProcessInstance,
    ProcessVersion,
)
from app.models.task import HumanTask

__all__ = [
    "ApiToken", "Deployment", "FormVersion", "HumanTask", "InboxMessage", "Incident", "InstanceEvent",
    "InstanceParty", "MessageWait",
    "OrgKind", "Organisation", "ProcessInstance", "ProcessVersion", "User", "UserRole",
]
