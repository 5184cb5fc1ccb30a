"""The SQLAlchemy models, one module per aggregate."""
from app.models.data_store import DataStoreValue
from app.models.document import Document
from app.models.event import InstanceEvent
from app.models.group_mapping import GroupMapping
from app.models.identity import (
    ApiToken,
    AuditEntry,
    Organisation,
    OrgKind,
    SignInThrottle,
    User,
    UserRole,
    UserSession,
    UserToken,
)
from app.models.operator_mapping import OperatorMapping
from app.models.origination import (
    Application,
    ApplicationDocument,
    ApplicationEvent,
    BlacklistEntry,
    Channel,
    Lead,
    Notification,
    RiskReport,
)
from app.models.process import (
    Deployment,
    ExternalTask,
    FormVersion,
    InboxMessage,
    Incident,
    InstanceParty,
    InstanceWait,
    MessageWait,
    ProcessInstance,
    ProcessVersion,
    TimerStart,
)
from app.models.signing import (
    CallbackNonce,
    Disbursement,
    EsignFlow,
    EsignSigner,
    PaymentOrder,
    SimulatorState,
)
from app.models.task import HumanTask, TaskCandidate

__all__ = [
    "CallbackNonce", "Disbursement", "EsignFlow", "EsignSigner", "PaymentOrder", "SimulatorState",
    "Application", "ApplicationDocument", "ApplicationEvent", "BlacklistEntry", "Channel", "Lead", "Notification",
    "RiskReport",
    "ApiToken", "AuditEntry", "DataStoreValue", "Deployment", "Document", "ExternalTask", "FormVersion", "GroupMapping", "HumanTask", "InboxMessage", "Incident", "InstanceEvent", "TaskCandidate",
    "InstanceParty", "InstanceWait", "MessageWait", "OperatorMapping",
    "OrgKind", "Organisation", "ProcessInstance", "ProcessVersion", "SignInThrottle", "TimerStart", "User", "UserRole", "UserSession", "UserToken",
]

# The loan ledger (issue 5), and collateral's commodity prices and pledges (issue 15); collections' contacts.
from app.models.collateral import (
    CommodityPrice,
    Disposal,
    MarginCall,
    Pledge,
    PledgeEvent,
    PledgeMovement,
    PledgeValuation,
)
from app.models.collections import CollectionContact
from app.models.ledger import EodRun, GlAccount, JournalEntry, JournalLine, OutboxMessage, ProductAccount
from app.models.loan import Instalment, Loan, Payment, Product, ScheduleVersion

__all__ += [
    "EodRun", "GlAccount", "Instalment", "JournalEntry", "JournalLine", "Loan", "OutboxMessage", "Payment", "Product",
    "ProductAccount", "ScheduleVersion",
    "CollectionContact", "CommodityPrice", "Disposal", "MarginCall", "Pledge", "PledgeEvent", "PledgeMovement", "PledgeValuation",
]
