"""The SQLAlchemy models, one module per aggregate."""
from app.models.event import InstanceEvent
from app.models.identity import ApiToken, Organisation, OrgKind, User, UserRole
from app.models.process import Deployment, FormVersion, InstanceParty, ProcessInstance, ProcessVersion
from app.models.task import HumanTask

__all__ = [
    "ApiToken", "Deployment", "FormVersion", "HumanTask", "InstanceEvent", "InstanceParty",
    "OrgKind", "Organisation", "ProcessInstance", "ProcessVersion", "User", "UserRole",
]
