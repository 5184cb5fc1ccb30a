"""The platform's own words for the codes it stores: task states, history events, parties, and a
deal's application statuses, stages, document kinds and product kinds.

Pages never print a stored code; they print its label here, in the reader's language (lazy
strings, translated in `app/translations/`). A code without a label is shown as a neutral word,
never as the code (`tests/integration/test_task_page.py` checks the Chinese page for raw codes).
"""
from __future__ import annotations

from flask_babel import gettext, lazy_pgettext
from flask_babel import lazy_gettext as _l

from app.services.identity.grants import LANE_NAMES

TASK_STATES = {"ready": _l("waiting to be picked up"), "claimed": _l("in progress"),
               "completed": _l("done"), "cancelled": _l("withdrawn")}
EVENTS = {
    "started": _l("Process started"), "completed": _l("Stage finished"), "cancelled": _l("Instance cancelled"),
    "task_ready": _l("Task opened"), "task_claimed": _l("Task picked up"), "task_unclaimed": _l("Task released"),
    "task_assigned": _l("Task assigned"), "task_reminded": _l("Reminder sent"), "task_completed": _l("Task done"), "task_cancelled": _l("Task withdrawn"),
    "message_received": _l("Message received"), "timer_fired": _l("Deadline reached"),
    "service_failed": _l("Automatic step failed"), "service_retried": _l("Automatic step retried"),
    "business_error": _l("Automatic step refused"), "parties_changed": _l("Parties changed"),
    "task_property_failed": _l("Task setting could not be read"),
    "message_sent": _l("Message sent"), "message_unheard": _l("Message sent, received by no one"), "signal_unheard": _l("Signal sent, received by no one"),
    "instance_migrated": _l("Moved to another version"), "incident_retried": _l("Incident retried"),
    "compensated": _l("Completed step undone"), "signal_received": _l("Signal received"),
    "error": _l("Stopped on an error"),
    "external_task_offered": _l("Offered to external workers"),
    "external_task_completed": _l("Done by an external worker"),
    "external_task_error": _l("An external worker reported a business error"),
    "external_task_failed": _l("An external worker failed"),
}
PARTIES = {"platform": _l("Platform"), "funder": _l("Funder"), "borrower": _l("Borrower"),
           "core_enterprise": _l("Core enterprise"), "warehouse": _l("Warehouse"),
           "collection_agency": _l("Collection agency")}
# Task priorities, 1 (most urgent) to 5 (docs/engine.md); a task without one shows nothing.
PRIORITIES = {1: _l("Urgent"), 2: _l("High"), 3: _l("Normal"), 4: _l("Not urgent"), 5: _l("Low")}
# A deal's application: its status, the stage it is at, its typed documents, the product's kind.
APPLICATION_STATUSES = {
    "draft": _l("Draft"), "submitted": _l("Submitted"), "in_review": _l("In review"),
    "returned": _l("Returned for more information"), "approved": _l("Approved"), "rejected": _l("Rejected"),
    "withdrawn": lazy_pgettext("application", "Withdrawn by the applicant"), "signing": _l("Signing the contract"),
    "disbursing": _l("Being disbursed"), "active": _l("Loan running"), "expired": _l("Expired"),
    "closed": _l("Paid off"),
}
STAGES = {
    "intake": _l("Application received"), "core_confirmation": _l("Core enterprise confirming the order"),
    "warehouse_confirmation": _l("Warehouse confirming the receipt"), "appraisal": _l("Goods being appraised"),
    "credit_consent": _l("Consent to a credit enquiry"), "risk_check": _l("Risk check"),
    "first_review": _l("First review"), "supplement": _l("Applicant supplying more information"),
    "second_review": _l("Second review"), "decided": _l("Decided"),
    "identity_verification": _l("Signers verifying their identity"),
    "contract_signing": _l("The contract is waiting for signatures"),
    "registration": _l("Registering the pledge or receivable"), "disbursement": _l("Funds being released"),
    "loan": _l("Loan booked"), "repaid": _l("Loan repaid"),
}
DOCUMENT_KINDS = {
    "order": _l("Purchase order"), "invoice": _l("Invoice"), "warehouse_receipt": _l("Warehouse receipt"),
    "business_licence": _l("Business licence"), "financial_statements": _l("Financial statements"),
    "id_card": _l("ID card"), "other": _l("Other document"),
    "contract": _l("Contract (before signing)"), "signed_contract": _l("Signed contract"),
    "registration_certificate": _l("Registration certificate"),
    "settlement_certificate": _l("Settlement certificate"), "demand_letter": _l("Demand letter"),
    "appraisal_report": _l("Appraisal report"),
}
# What an uploaded file is, as sniffed from its content (`workflow.documents.ALLOWED`).
FILE_KINDS = {"pdf": _l("PDF"), "image": _l("Image"), "spreadsheet": _l("Spreadsheet"),
              "document": _l("Word document"), "archive": _l("ZIP archive"), "text": _l("Text file")}
PRODUCT_KINDS = {"order_financing": _l("Order financing"), "pledge_financing": _l("Pledge financing"),
                 "credit_loan": _l("Credit loan")}
# How a product's loans are repaid (`app.lending.terms.Amortization`).
REPAYMENT_METHODS = {"equal_instalments": _l("Equal instalments of principal and interest"),
                     "equal_principal": _l("Equal principal"),
                     "interest_only": _l("Interest each period, principal at maturity"),
                     "bullet": _l("Principal and interest at maturity")}
OTHER = _l("Other")


def state_label(code: str | None) -> str:
    return str(TASK_STATES.get(code or "", OTHER))


def event_label(code: str | None) -> str:
    return str(EVENTS.get(code or "", OTHER))


def party_label(code: str | None) -> str:
    return str(PARTIES.get(code or "", OTHER))


def role_label(code: str | None) -> str:
    """A role's name, or a lane's (a task offered to the users it names)."""
    name = LANE_NAMES.get(code or "")
    return gettext(name) if name else str(OTHER)


def priority_label(priority: int | None) -> str:
    return "" if priority is None else str(PRIORITIES.get(priority, OTHER))


def application_status_label(code: str | None) -> str:
    return str(APPLICATION_STATUSES.get(code or "", OTHER))


def stage_label(code: str | None) -> str:
    return "" if code is None else str(STAGES.get(code, OTHER))


def document_kind_label(code: str | None) -> str:
    return str(DOCUMENT_KINDS.get(code or "", OTHER))


def file_kind_label(code: str | None) -> str:
    return str(FILE_KINDS.get(code or "", OTHER))


def product_kind_label(code: str | None) -> str:
    return str(PRODUCT_KINDS.get(code or "", OTHER))


def repayment_method_label(code: str | None) -> str:
    return str(REPAYMENT_METHODS.get(code or "", OTHER))


def install(jinja_filters: dict) -> None:
    jinja_filters.update(state_label=state_label, event_label=event_label, party_label=party_label,
                         role_label=role_label, priority_label=priority_label,
                         application_status_label=application_status_label, stage_label=stage_label,
                         document_kind_label=document_kind_label, product_kind_label=product_kind_label,
                         file_kind_label=file_kind_label, repayment_method_label=repayment_method_label)
