"""A borrower's applications: draft, edit, attach documents, submit, withdraw, delete, follow.

The application row is the deal until it becomes a loan; its number is the business key of every
process instance of the deal. Submitting starts the product's diagram (named after its kind);
what the diagrams decide comes back through origination's operators (`deal_state`). The states
and who may move them are in docs/origination.md.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select, true

from app.engine.said import said
from app.extensions import db
from app.lending.errors import LendingError
from app.lending.money import parse_money
from app.models import (
    Application,
    ApplicationDocument,
    ApplicationEvent,
    HumanTask,
    InstanceParty,
    Organisation,
)
from app.models.origination import DOCUMENT_KINDS
from app.services import clock
from app.services.context import lazy_gettext as _l
from app.services.errors import Conflict, Invalid, NotFound, TooLarge
from app.services.identity import policy
from app.services.identity.access import oversees_organisation, party_kinds
from app.services.identity.directory import Principal
from app.services.ledger.journal import hold_sqlite_write_lock
from app.services.ledger.loans import business_today
from app.services.origination import details as deal_details
from app.services.origination.details import MONEY_FORMAT
from app.services.origination.numbering import insert_numbered
from app.services.origination.order_term import past_the_order
from app.services.origination.products import offered_product, product_row, terms_of
from app.services.workflow import instances, tasks
from app.services.workflow.documents import OFFICE_FILES, SCANS, kept_name, sniffed_as

EDITABLE = ("draft", "returned", "withdrawn")
SUBMITTABLE = ("draft", "withdrawn")
WITHDRAWABLE = ("submitted", "in_review", "returned")
MAX_PURPOSE = 500
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
DOCUMENT_TYPES = (*SCANS, *OFFICE_FILES)  # judged from the bytes, as a transfer voucher's: no text, no archive
NOT_A_DOCUMENT = _l("Not an accepted document type: PDF, PNG, JPEG, XLSX or DOCX.")
FIELDS = ("product", "amount", "term_months", "purpose", "funder", "details")
# The words of statuses and document kinds in errors (the pages have their own in app/web/vocabulary.py).
STATUS_WORDS = {"draft": _l("a draft"), "submitted": _l("submitted"), "in_review": _l("in review"),
                "returned": _l("returned for more information"), "approved": _l("approved"),
                "rejected": _l("rejected"), "withdrawn": _l("withdrawn")}
DOCUMENT_WORDS = {"order": _l("purchase order"), "invoice": _l("invoice"), "warehouse_receipt": _l("warehouse receipt"),
                  "business_licence": _l("business licence"), "financial_statements": _l("financial statements"),
                  "id_card": _l("ID card"), "other": _l("other document")}


# -- reading ------------------------------------------------------------------------------------

def application_visible(principal: Principal) -> ColumnElement[bool]:
    """SQL condition on Application: the borrower sees its own (drafts too); the funder and the
    other parties of the deal see it once submitted; the platform sees all."""
    if principal.is_platform:
        return true()
    kinds = party_kinds(principal)
    lead = oversees_organisation(principal)
    own_borrower = Application.borrower_org_id == principal.org_id if (lead or "borrower" in kinds) else false()
    submitted = Application.status != "draft"
    funder = and_(submitted, Application.funder_org_id == principal.org_id) if (lead or "funder" in kinds) else false()
    party = and_(submitted, exists().where(
        InstanceParty.instance_id == Application.instance_id, InstanceParty.org_id == principal.org_id,
        true() if lead else InstanceParty.party.in_(kinds or {""})))
    return or_(own_borrower, funder, party)


def _load(principal: Principal, application_id: int, lock: bool = False) -> Application:
    query = select(Application).where(Application.id == application_id, application_visible(principal))
    if lock:
        query = query.with_for_update()
    row = db.session.scalar(query)
    if row is None:
        raise NotFound(_l("Application not found."))
    return row


def by_number(principal: Principal, number: str) -> Application | None:
    """The application whose number is this business key, if the reader may see it."""
    return db.session.scalar(select(Application).where(Application.number == number, application_visible(principal)))


def list_applications(principal: Principal, page: int = 1, per_page: int = 20, status: str | None = None,
                      where: ColumnElement[bool] | None = None) -> tuple[list[Application], int]:
    """A page of the applications the principal may see, newest first; `where` narrows them (`deal_search`)."""
    query = select(Application).where(application_visible(principal))
    if where is not None:
        query = query.where(where)
    if status:
        query = query.where(Application.status == status)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(db.session.scalars(query.order_by(Application.id.desc()).offset((page - 1) * per_page)
                                   .limit(per_page)))
    return rows, total


def get_application(principal: Principal, application_id: int) -> Application:
    return _load(principal, application_id)


# What each other party to a deal reads of its documents: the core enterprise the order, its invoices, the
# tri-party contract it signs and the registration of its receivable; the warehouse the receipt, the pledge's registration and its appraisal. The
# borrower, the funder and the platform read them all (the loan contract is theirs, and so are the borrower's
# statements, licence and identity papers, its settlement certificate and demand letters).
PARTY_DOCUMENTS = {"core_enterprise": frozenset({"order", "invoice", "contract", "signed_contract",
                                                  "registration_certificate"}),  # its receivable is registered
                   "warehouse": frozenset({"warehouse_receipt", "registration_certificate", "appraisal_report"})}


def own_deal(principal: Principal, row: Application) -> bool:
    """Whether the reader is the deal's borrower, its funder or the platform: the others (a core enterprise, a
    warehouse) read their part of it, not the borrower's account, its papers, or why the funder decided."""
    return principal.is_platform or principal.org_id in (row.borrower_org_id, row.funder_org_id)


def shown_details(principal: Principal, row: Application) -> dict[str, Any]:
    """The deal's details as this reader reads them: without the borrower's receiving account unless it is theirs."""
    details = dict(row.details or {})
    return details if own_deal(principal, row) else {k: v for k, v in details.items()
                                                     if k not in deal_details.PAYEE_KEYS}


def readable_kinds(principal: Principal, row: Application) -> frozenset[str] | None:
    """The kinds of the deal's documents this reader may open; None: every kind."""
    if own_deal(principal, row):
        return None
    codes = deal_details.parties(row.details or {})
    mine = db.session.scalar(select(Organisation.code).where(Organisation.id == principal.org_id))
    return frozenset().union(*(PARTY_DOCUMENTS.get(party, frozenset()) for party, code in codes.items()
                               if code == mine))


def _before_supplements(row: Application) -> Any:
    """When the funder first asked the borrower for more (None if it never did): what the borrower supplies from
    then on is for the funder, not for the core enterprise or the warehouse."""
    return db.session.scalar(select(func.min(ApplicationEvent.at)).where(
        ApplicationEvent.application_id == row.id, ApplicationEvent.kind == "returned"))


def documents_of(principal: Principal, application_id: int) -> list[ApplicationDocument]:
    row = _load(principal, application_id)
    kinds = readable_kinds(principal, row)
    query = select(ApplicationDocument).where(ApplicationDocument.application_id == application_id)
    if kinds is not None:
        query = query.where(ApplicationDocument.kind.in_(sorted(kinds)))
        returned = _before_supplements(row)
        if returned is not None:
            query = query.where(ApplicationDocument.created_at <= returned)
    return list(db.session.scalars(query.order_by(ApplicationDocument.id)))


def get_document(principal: Principal, application_id: int, document_id: int) -> ApplicationDocument:
    deal = _load(principal, application_id)
    row = db.session.scalar(select(ApplicationDocument).where(
        ApplicationDocument.id == document_id, ApplicationDocument.application_id == application_id))
    kinds = readable_kinds(principal, deal)
    returned = _before_supplements(deal) if kinds is not None else None
    if row is None or (kinds is not None and row.kind not in kinds) or (
            returned is not None and row.created_at > returned):
        raise NotFound(_l("Document not found."))
    return row


def events_of(application_id: int) -> list[ApplicationEvent]:
    return list(db.session.scalars(select(ApplicationEvent).where(
        ApplicationEvent.application_id == application_id).order_by(ApplicationEvent.id)))


# -- writing ------------------------------------------------------------------------------------

def record(row: Application, event: str, actor_id: int | None = None, **data: Any) -> None:
    """A line of the application's timeline (in the caller's transaction)."""
    row.updated_at = clock.now()
    db.session.add(ApplicationEvent(application_id=row.id, kind=event, stage=row.stage, actor_id=actor_id,
                                    data={k: v for k, v in data.items() if v is not None}, at=row.updated_at))


def _org(code: object, field: str, kind: str) -> Organisation:
    org = db.session.scalar(select(Organisation).where(Organisation.code == str(code))) \
        if isinstance(code, str) else None
    if org is None or kind not in org.kind_codes:
        message = _l("Choose a funder registered on the platform.")
        raise Invalid(message, {field: [message]})
    return org


def _money(value: object, field: str) -> Decimal:
    try:
        amount = parse_money(value if isinstance(value, str | int) and not isinstance(value, bool) else "x", field)
    except LendingError:
        raise Invalid(MONEY_FORMAT, {field: [MONEY_FORMAT]}) from None
    if amount <= 0:
        raise Invalid(MONEY_FORMAT, {field: [MONEY_FORMAT]})
    return amount


def _over_the_order(kind: str, amount: Decimal | None, details: Mapping[str, Any]) -> Any:
    """Why an order financing's amount is too much (more than its order's amount), or None."""
    order = details.get("order_amount") if kind == "order_financing" else None
    if amount is None or not order or amount <= Decimal(str(order)):
        return None
    return _l("At most the order's amount, ¥%(order)s.", order=f"{Decimal(str(order)):,.2f}")


PURPOSE_NEEDED = _l("Say what the loan is for (1 to %(limit)s characters).", limit=MAX_PURPOSE)


def _refuse_unless_complete(row: Application) -> None:
    """What a draft may leave out but a submission must hold: a purpose, the receiving account, and (for rows saved
    before the rule, or long ago) an amount within the order's and a term that ends in time for the order."""
    errors: dict[str, list[Any]] = {}
    if not (row.purpose or "").strip():
        errors["purpose"] = [PURPOSE_NEEDED]
    product = product_row(row.product_id)
    terms = terms_of(product)
    over = _over_the_order(terms.kind, row.amount, row.details or {})
    if over is not None:
        errors["amount"] = [over]
    too_long = past_the_order(product, terms, row.term_months, row.details or {}, business_today())
    if too_long is not None:  # a draft saved weeks ago is judged as of the day it is submitted
        errors["term_months"] = [too_long]
    errors.update(deal_details.payee_missing(row.details or {}))
    if errors:
        raise Invalid(_l("Please correct the marked fields."), errors)


def _checked(data: Mapping[str, Any], current: Application | None) -> dict[str, Any]:
    """The application's fields after applying `data` to `current` (None: a new draft), checked."""
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise Invalid(_l("Unknown fields: %(fields)s", fields=", ".join(unknown)), {k: [_l("Unknown field.")] for k in unknown})
    errors: dict[str, list[str]] = {}
    product = offered_product(data["product"]) if "product" in data or current is None \
        else product_row(current.product_id)
    terms = terms_of(product)
    out: dict[str, Any] = {"product_id": product.id}
    if "amount" in data or current is None:
        try:
            out["amount"] = _money(data.get("amount"), "amount")
        except Invalid as exc:  # said beside the other fields' errors, not alone
            errors.update(exc.fields)
    amount = out.get("amount", current.amount if current else None)
    if amount is not None and not terms.min_amount <= amount <= terms.max_amount:
        errors["amount"] = [_l("Between ¥%(low)s and ¥%(high)s for this product.", low=f"{terms.min_amount:,.2f}",
                                  high=f"{terms.max_amount:,.2f}")]
    term = data.get("term_months", current.term_months if current else None)
    if isinstance(term, bool) or not isinstance(term, int) or not terms.min_term <= term <= terms.max_term:
        errors["term_months"] = [_l("A whole number of months from %(low)s to %(high)s.", low=terms.min_term,
                                       high=terms.max_term)]
    out["term_months"] = term
    purpose = data.get("purpose", current.purpose if current else "")
    if not isinstance(purpose, str) or len(purpose) > MAX_PURPOSE:
        errors["purpose"] = [_l("At most %(limit)s characters.", limit=MAX_PURPOSE)]
    out["purpose"] = purpose.strip() if isinstance(purpose, str) else ""
    if "funder" in data or current is None:
        try:
            out["funder_org_id"] = _org(data.get("funder"), "funder", "funder").id
        except Invalid as exc:
            errors.update(exc.fields)
    kind_changed = current is not None and product.id != current.product_id
    raw = data.get("details", {} if current is None or kind_changed else current.details)
    try:
        out["details"] = deal_details.check(terms.kind, raw, business_today())
    except Invalid as exc:
        errors.update(exc.fields)
    over = _over_the_order(terms.kind, amount, out.get("details") or {})
    if over is not None and "amount" not in errors:
        errors["amount"] = [over]
    too_long = past_the_order(product, terms, term, out.get("details") or {}, business_today())
    if too_long is not None and "term_months" not in errors:
        errors["term_months"] = [too_long]
    if errors:
        raise Invalid(_l("Please correct the marked fields."),
                      errors)
    return out


def draft_problems(principal: Principal, data: Mapping[str, Any], application_id: int | None = None) -> dict[str, list[Any]]:
    """What `create_application` (or, with `application_id`, `update_application`) would say about each field of
    `data`, without writing anything: a form that found some fields unreadable says the others' problems at the
    same time, rather than one round at a time."""
    current = _load(principal, application_id) if application_id is not None else None
    try:
        _checked(data, current)
    except Invalid as exc:
        return dict(exc.fields)
    return {}


def create_application(principal: Principal, data: Mapping[str, Any]) -> Application:
    """A draft of the principal's organisation (the borrower); 422 naming each wrong field."""
    policy.require(principal, "applications.draft", parties={"borrower": principal.org_id},
                   message=_l("Drafting an application needs the applicant role in a borrower."))
    fields = _checked(data, None)
    at = clock.now()
    row = insert_numbered(lambda number: Application(
        number=number, borrower_org_id=principal.org_id, created_by_id=principal.id, status="draft",
        created_at=at, updated_at=at, **fields), Application.number, "APP", business_today(),
        _l("Could not number the application; please try again."))
    record(row, "drafted", principal.id)
    db.session.commit()
    return row


def _hold_its_tasks(principal: Principal, application_id: int) -> None:
    """Lock the deal's open tasks before the application, the order a task's completion locks them (its task, then
    the step writes the application): a withdrawal or a resubmission that ends or completes a task, racing that
    task's own completion, waited on it the other way round on PostgreSQL (a deadlock, a 500)."""
    instance_id = db.session.scalar(select(Application.instance_id).where(Application.id == application_id,
                                                                          application_visible(principal)))
    if instance_id is not None:
        instances.hold_open_tasks(instance_id)


def _own(principal: Principal, application_id: int, statuses: tuple[str, ...]) -> Application:
    """The application, locked for this transaction (row lock; SQLite's write lock), if the
    principal is its borrower's applicant and it is in one of `statuses` (409 otherwise)."""
    hold_sqlite_write_lock()
    row = _load(principal, application_id, lock=True)
    policy.require(principal, "applications.draft", parties={"borrower": row.borrower_org_id},
                   message=_l("Only the borrower's applicant may do this with its application."))
    if row.status not in statuses:
        raise Conflict(_l("Not possible while the application is %(status)s.", status=STATUS_WORDS.get(row.status, row.status)),
                       code=f"status_{row.status}")
    return row


def update_application(principal: Principal, application_id: int, data: Mapping[str, Any]) -> Application:
    row = _own(principal, application_id, EDITABLE)
    for name, value in _checked(data, row).items():
        setattr(row, name, value)
    record(row, "edited", principal.id, fields=sorted(data))
    row.lock_version += 1
    db.session.commit()
    return row


def delete_application(principal: Principal, application_id: int) -> None:
    row = _own(principal, application_id, ("draft",))
    db.session.delete(row)
    db.session.commit()


def add_document(principal: Principal, application_id: int, kind: str, filename: str,
                 content: bytes) -> ApplicationDocument:
    row = _own(principal, application_id, EDITABLE)
    if kind not in DOCUMENT_KINDS:
        raise Invalid(_l("Choose the kind of document."), {"kind": [_l("Choose the kind of document.")]})
    if not content:
        raise Invalid(_l("The file is empty."), {"file": [_l("The file is empty.")]})
    if len(content) > MAX_DOCUMENT_BYTES:
        raise TooLarge(_l("A document may be at most %(mb)s MB.", mb=MAX_DOCUMENT_BYTES // (1024 * 1024)))
    content_type = sniffed_as(content, filename, DOCUMENT_TYPES)
    if content_type is None:
        raise Invalid(NOT_A_DOCUMENT, {"file": [NOT_A_DOCUMENT]})
    safe_name = kept_name(filename, content_type)
    document = ApplicationDocument(application_id=row.id, kind=kind, filename=safe_name, content_type=content_type,
                                   size=len(content), sha256=hashlib.sha256(content).hexdigest(), content=content,
                                   uploaded_by_id=principal.id, created_at=clock.now())
    db.session.add(document)
    record(row, "document_added", principal.id, kind=kind, filename=safe_name)
    db.session.commit()
    return document


REMOVABLE = ("draft", "returned")  # a draft, and one awaiting the borrower's supplement


def _since_submitted(row: Application) -> Any:
    """When the application was last submitted (None for a draft never submitted)."""
    return db.session.scalar(select(func.max(ApplicationEvent.at)).where(
        ApplicationEvent.application_id == row.id, ApplicationEvent.kind.in_(("submitted", "resubmitted"))))


def removable_documents(principal: Principal, row: Application) -> set[int]:
    """The documents `principal` may remove from `row`: their own uploads while it is a draft, and while it awaits
    their supplement, those uploaded since it was last submitted (the funder reviewed the others)."""
    if row.status not in REMOVABLE or not policy.allowed(principal, "applications.draft",
                                                         parties={"borrower": row.borrower_org_id}):
        return set()
    query = select(ApplicationDocument.id).where(ApplicationDocument.application_id == row.id,
                                                 ApplicationDocument.uploaded_by_id == principal.id)
    submitted = _since_submitted(row) if row.status == "returned" else None
    if submitted is not None:
        query = query.where(ApplicationDocument.created_at > submitted)
    return set(db.session.scalars(query))


def remove_document(principal: Principal, application_id: int, document_id: int) -> None:
    """A document its uploader attached by mistake, removed (`removable_documents` says which) and the removal
    written on the timeline; 404 for a document of another application, 409 for one that may not be removed."""
    row = _own(principal, application_id, REMOVABLE)
    document = db.session.get(ApplicationDocument, document_id)
    if document is None or document.application_id != row.id:
        raise NotFound(_l("Document not found."))
    if document.id not in removable_documents(principal, row):
        raise Conflict(_l("Only a document you uploaded, while the application is a draft or since the funder asked "
                          "for more, can be removed."), code="document_kept")
    record(row, "document_removed", principal.id, kind=document.kind, filename=document.filename)
    db.session.delete(document)
    db.session.commit()


def deal_parties(row: Application) -> dict[str, str]:
    """The deal's organisations by party (borrower, funder, and core enterprise or warehouse): their codes."""
    codes = dict(db.session.execute(select(Organisation.id, Organisation.code).where(
        Organisation.id.in_([row.borrower_org_id, row.funder_org_id]))).all())
    parties = {"borrower": codes[row.borrower_org_id], "funder": codes[row.funder_org_id]}
    parties.update(deal_details.parties(row.details))
    return parties


def process_data(row: Application) -> dict[str, Any]:
    """What the deal's diagram starts with (amounts as strings: exact in every engine)."""
    product = terms_of(product_row(row.product_id))
    return {"application_number": row.number, "product_code": product.code, "product_kind": product.kind,
            "amount": f"{row.amount:.2f}", "term_months": row.term_months, "purpose": row.purpose,
            "details": dict(row.details)}


def submit(principal: Principal, application_id: int) -> Application:
    """Start the deal: the product's diagram runs until it waits for someone.

    From `returned`, resubmitting answers the funder's request: the borrower's open `supplement`
    task is completed, and the review goes on with the application as it now is.
    """
    _hold_its_tasks(principal, application_id)  # resubmitting completes the supplement task
    row = _own(principal, application_id, (*SUBMITTABLE, "returned"))
    _refuse_unless_complete(row)
    if row.status == "returned":
        return _resubmit(principal, row)
    product = product_row(row.product_id)
    if product is None or not product.active:
        raise Conflict(_l("The product is no longer offered."), code="product_withdrawn")
    missing = [k for k in terms_of(product).documents
               if not db.session.scalar(select(ApplicationDocument.id).where(
                   ApplicationDocument.application_id == row.id, ApplicationDocument.kind == k).limit(1))]
    if missing:
        message = _l("Documents missing: %(kinds)s", kinds=", ".join(str(DOCUMENT_WORDS.get(k, k)) for k in missing))
        raise Invalid(message, {"documents": [message]})
    row.status, row.stage, row.reason, row.submitted_at = "submitted", "intake", None, clock.now()
    row.lock_version += 1
    record(row, "resubmitted" if row.instance_id else "submitted", principal.id)
    db.session.flush()
    started = instances.start(str(product.application_process), None, row.number, process_data(row), deal_parties(row))
    row.instance_id = started["id"]  # the diagram's first `origination.stage` has set it already
    db.session.commit()
    db.session.refresh(row)
    return row


def _open_supplement(row: Application) -> int | None:
    return db.session.scalar(select(HumanTask.id).where(
        HumanTask.instance_id == row.instance_id, HumanTask.element_id == "supplement",
        HumanTask.state.in_(("ready", "claimed"))).limit(1))


def _resubmit(principal: Principal, row: Application) -> Application:
    task_id = _open_supplement(row)
    if task_id is None:
        raise Conflict(_l("Nothing waits for this application's answer."), code="not_waiting")
    record(row, "resubmitted", principal.id)
    row.lock_version += 1
    db.session.flush()
    # the answer is the application as it now is: no words put in the borrower's mouth (a reviewer
    # would read them as the borrower's answer, and in English on a Chinese page), so the form's
    # written answer, required of a borrower answering on the task, is not asked here
    tasks.complete_task(task_id, {}, principal, answered_elsewhere=True)
    db.session.refresh(row)
    return row


# what the party whose open task the withdrawal cancels reads on it (not "the task changed in the meantime")
WITHDRAWN_TOLD = said("The borrower withdrew the application; this task was cancelled.")


def withdraw(principal: Principal, application_id: int) -> Application:
    """Pull a submitted application back before it is decided: its open tasks cancelled, its
    history kept; it can be edited and submitted again."""
    _hold_its_tasks(principal, application_id)
    row = _own(principal, application_id, WITHDRAWABLE)
    if row.instance_id is not None:
        instances.end_instance(row.instance_id, principal.id, told=WITHDRAWN_TOLD)
    row.status, row.stage = "withdrawn", None
    row.lock_version += 1
    record(row, "withdrawn", principal.id)
    db.session.commit()
    return row
