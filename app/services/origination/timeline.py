"""An application's timeline in the reader's words: what happened to it, and what it waits for now.

Each entry is `{"at", "kind", "stage", "by_party", "text"}`: the application's own events
(`applications.events_of`: drafted, submitted, stage, returned, approved, ...) in order, then one
`waiting` entry per open task of the deal (who is awaited, and for what). `text` is a sentence in
the reader's language with no stored code in it: the stage and the party in words, the reason of a
rejection or a return, the approved amount and, when it was lowered, why. `kind`, `stage` and
`by_party` stay codes, for programs.

The words are translated with `context.gettext`, in the locale of the request (a page's, or the
one the API chose with `flask_babel.force_locale`); `language` picks the language of what the
diagrams wrote in both (a cap's reason, why an approval was lowered) and must be that same locale.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import Application, ApplicationEvent, HumanTask
from app.models.task import OPEN_TASK_STATES
from app.services import context
from app.services.identity.access import PLATFORM_LANES, lane_party
from app.services.identity.directory import Principal
from app.services.identity.grants import ROLE_PARTY
from app.services.notices import reminders
from app.services.origination.applications import events_of
from app.services.workflow import labels
from app.services.workflow.party_scope import scope_of


def N_(text: str) -> str:
    """Marks a message for the catalogue; it is translated where the timeline is read."""
    return text


# What each event says happened (the ones with data to show are worded in `_event_text`).
EVENT_TEXTS = {
    "drafted": N_("The application was drafted"),
    "edited": N_("The application was changed"),
    "submitted": N_("The application was submitted"),
    "resubmitted": N_("The application was submitted again"),
    "withdrawn": N_("The borrower withdrew the application"),
    "contract_generated": N_("The contract was prepared for signing"),
    "contract_signed": N_("Every party signed the contract; the signed contract is kept with the deal"),
    "loan_closed": N_("The loan was repaid in full; the settlement certificate is kept with the deal"),
}
# Disbursement's events (`app/services/signing/disbursements.py`), worded in `_disbursement_text`.
DISBURSEMENT_EVENTS = ("disbursement_ready", "disbursement_ordered", "disbursement_failed", "disbursement_stopped",
                       "loan_booked")
# What a `stage` event says: the deal reached this stage.
STAGE_TEXTS = {
    "intake": N_("The application was received"),
    "core_confirmation": N_("The core enterprise was asked to confirm the order"),
    "warehouse_confirmation": N_("The warehouse was asked to confirm the warehouse receipt"),
    "appraisal": N_("The goods are being appraised"),
    "credit_consent": N_("The borrower was asked to consent to a credit enquiry"),
    "risk_check": N_("The risk check began"),
    "first_review": N_("The funder's first review began"),
    "supplement": N_("The funder asked the borrower for more information"),
    "second_review": N_("The funder's second review began"),
    "decided": N_("A decision was made"),
    "identity_verification": N_("The signers were asked to verify their identity"),
    "contract_signing": N_("The contract was sent to the parties for signing"),
    "registration": N_("The pledge or receivable is being registered"),
}
# What an open task waits for, by the task's id in the diagrams (docs/origination.md).
TASK_TEXTS = {
    "confirm_receivable": N_("Waiting for the core enterprise to confirm the order"),
    "confirm_receipt": N_("Waiting for the warehouse to confirm the warehouse receipt"),
    "appraise_goods": N_("Waiting for the platform to appraise the goods"),
    "credit_consent": N_("Waiting for the borrower to consent to a credit enquiry"),
    "first_review": N_("Waiting for the funder's first review"),
    "supplement": N_("Waiting for the borrower to supply what the funder asked for"),
    "second_review": N_("Waiting for the funder's second review"),
    "verify_identity_borrower": N_("Waiting for the borrower's signer to verify their identity"),
    "verify_identity_core": N_("Waiting for the core enterprise's signer to verify their identity"),
    "register_collateral": N_("Waiting for the platform to register the pledge or receivable"),
    "release_funds": N_("Waiting for the funder's finance to release the funds"),
}
# Who a signing party is, in words.
SIGNING_PARTIES = {"borrower": N_("the borrower"), "core_enterprise": N_("the core enterprise"),
                   "funder": N_("the funder")}
# A signature on the contract, by party (the funder's seal is applied by the provider after the others signed).
PARTY_SIGNED = {"borrower": N_("The borrower signed the contract (%(who)s)"),
                "core_enterprise": N_("The core enterprise signed the contract (%(who)s)"),
                "funder": N_("The funder's seal was applied to the contract (%(who)s)")}
# Who a reminder (催办) went to: the party of its task's lane, in words.
REMINDED_PARTIES = {**SIGNING_PARTIES, "warehouse": N_("the warehouse"), "platform": N_("the platform")}
# A task the table above does not know: whom it waits for.
WAITING_FOR_PARTY = {
    "borrower": N_("Waiting for the borrower"),
    "funder": N_("Waiting for the funder"),
    "core_enterprise": N_("Waiting for the core enterprise"),
    "warehouse": N_("Waiting for the warehouse"),
    "platform": N_("Waiting for the platform"),
}
WAITING = N_("Waiting for the next step")
DOCUMENT_NAMES = {
    "order": N_("purchase order"), "invoice": N_("invoice"), "warehouse_receipt": N_("warehouse receipt"),
    "business_licence": N_("business licence"), "financial_statements": N_("financial statements"),
    "id_card": N_("ID card"), "other": N_("other document"),
}
# Who acted in each event (the diagrams' stages are the platform's records).
EVENT_PARTY = {"drafted": "borrower", "edited": "borrower", "submitted": "borrower", "resubmitted": "borrower",
               "withdrawn": "borrower", "document_added": "borrower", "document_removed": "borrower", "returned": "funder",
               "approved": "funder", "rejected": "funder", "stage": "platform", "capped": "platform",
               "disbursement_ready": "platform", "disbursement_ordered": "funder", "disbursement_failed": "platform",
               "disbursement_stopped": "funder", "loan_booked": "platform", "loan_closed": "platform"}


def _(text: str, **variables: Any) -> str:
    return context.gettext(text, **variables)


def _money(value: object) -> str:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return f"¥{amount:,.2f}" if amount.is_finite() else str(value)


def _in_language(data: dict[str, Any], key: str, language: str) -> str:
    """What the diagram wrote in both languages (`key`, `key_zh`), in the reader's."""
    if language != "en" and data.get(f"{key}_{language}"):
        return str(data[f"{key}_{language}"])
    return str(data.get(key) or "")


def _approved_text(data: dict[str, Any], language: str, reasons: bool) -> str:
    because = _in_language(data, "lowered_because", language)
    if reasons and because and data.get("asked"):
        return _("Approved for %(amount)s, less than the %(asked)s the reviewers proposed, limited by %(because)s",
                 amount=_money(data.get("amount")), asked=_money(data["asked"]), because=because)
    return _("Approved for %(amount)s", amount=_money(data.get("amount")))


def _event_text(event: ApplicationEvent, language: str, reasons: bool = True) -> str:
    """What `event` says; without `reasons`, a return or a rejection says no reason (the funder's words to the
    borrower, which a third party to the loan does not read), and a cap or an approval only its amount (the funder's
    advance rate and its reviewers' proposal are its own and the borrower's business)."""
    data = event.data if reasons or event.kind not in ("returned", "rejected") else {}
    data = data or {}
    if event.kind in EVENT_TEXTS:
        return _(EVENT_TEXTS[event.kind])
    if event.kind == "stage":
        return _(STAGE_TEXTS[event.stage]) if event.stage in STAGE_TEXTS else _(WAITING)
    if event.kind == "document_added":
        kind = DOCUMENT_NAMES.get(str(data.get("kind")), DOCUMENT_NAMES["other"])
        return _("A document was attached: %(kind)s", kind=_(kind))
    if event.kind == "document_removed":
        kind = DOCUMENT_NAMES.get(str(data.get("kind")), DOCUMENT_NAMES["other"])
        return _("The borrower removed a document it had attached: %(kind)s (%(filename)s)", kind=_(kind),
                 filename=data.get("filename", ""))
    if event.kind == "returned":
        if data.get("reason"):
            return _("The funder returned the application and asks for: %(reason)s", reason=data["reason"])
        return _("The funder returned the application for more information")
    if event.kind == "rejected":
        if data.get("reason"):
            return _("The application was rejected: %(reason)s", reason=_in_language(data, "reason", language))
        return _("The application was rejected")
    if event.kind == "approved":
        return _approved_text(data, language, reasons)
    if event.kind in DISBURSEMENT_EVENTS:
        return _disbursement_text(event.kind, data)
    if event.kind in ("identity_verified", "identity_failed", "signing_reminded", "collateral_registered",
                      "party_signed", "expired"):
        return _signing_text(event.kind, data, language)
    if event.kind == "capped" and not reasons:
        return _("The amount is limited to %(amount)s", amount=_money(data.get("amount")))
    if event.kind == "capped":
        return _("The amount is limited to %(amount)s: %(reason)s", amount=_money(data.get("amount")),
                 reason=_in_language(data, "reason", language))
    return _("The application was updated")


def _disbursement_text(kind: str, data: dict[str, Any]) -> str:
    if kind == "disbursement_ready":
        return _("The funder's finance was asked to release %(amount)s", amount=_money(data.get("amount")))
    if kind == "disbursement_ordered":
        return _("The funder released %(amount)s to account %(account)s of %(payee)s; the payment is under way",
                 amount=_money(data.get("amount")), account=data.get("account", ""), payee=data.get("payee", ""))
    if kind == "disbursement_failed":
        if not data.get("reason"):  # the gateway said no more than that it failed
            return _("The payment failed; the payment gateway gave no reason")
        return _("The payment failed: %(reason)s", reason=data.get("reason", ""))
    if kind == "disbursement_stopped":
        return _("The funder stopped the disbursement and the deal ended: %(reason)s", reason=data.get("reason", ""))
    return _("The funds were paid and loan %(loan)s was booked", loan=data.get("loan", ""))


def _signing_text(kind: str, data: dict[str, Any], language: str) -> str:
    party = _(SIGNING_PARTIES.get(str(data.get("party")), SIGNING_PARTIES["borrower"]))
    if kind == "identity_verified":
        return _("The signer for %(party)s verified their identity", party=party)
    if kind == "identity_failed":
        return _("The identity verification for %(party)s failed (attempt %(attempt)s): %(reason)s", party=party,
                 attempt=data.get("attempt", ""), reason=_in_language(data, "reason", language))
    if kind == "signing_reminded":
        return _("The signers who have not signed were reminded")
    if kind == "party_signed":
        who = str(data.get("name", ""))
        if data.get("signed_at"):
            signed_at = datetime.fromisoformat(str(data["signed_at"]))
            who = _("%(name)s, %(when)s", name=who, when=context.moment(signed_at, seconds=False))
        return _(PARTY_SIGNED.get(str(data.get("party")), PARTY_SIGNED["borrower"]), who=who)
    if kind == "collateral_registered":
        return _("The collateral was registered with %(registry)s, number %(number)s on %(date)s",
                 registry=_in_language(data, "registry", language), number=data.get("registration_number", ""),
                 date=context.day(data.get("registration_date", "")))
    reason = str(data["reason_en"]) if language == "en" and data.get("reason_en") \
        else _in_language(data, "reason", language)  # reason_en: kept by the first builds, whose reason was both
    return _("The signing stopped and the application expired: %(reason)s", reason=reason)


def _waiting_text(task: HumanTask) -> tuple[str, str | None]:
    party = ROLE_PARTY.get(task.lane or "") or ("platform" if task.lane else None)
    if task.element_id in TASK_TEXTS:
        return _(TASK_TEXTS[task.element_id]), party
    return _(WAITING_FOR_PARTY.get(party or "", WAITING)), party


def open_tasks_of(application: Application) -> list[HumanTask]:
    if application.instance_id is None:
        return []
    return list(db.session.scalars(select(HumanTask).where(
        HumanTask.instance_id == application.instance_id, HumanTask.state.in_(OPEN_TASK_STATES))
        .order_by(HumanTask.created_at, HumanTask.id)))


# The parties' answers the deal's diagrams do not record as events: (the stage that asked, the party, the text of a
# confirmation or an answer, the text of a dispute or None). The confirmation's amount and due date are the core
# enterprise's own answer; the borrower's reply to the funder is said, not what it wrote.
ANSWERED = {
    "confirm_receivable": ("core_confirmation", "core_enterprise",
                           N_("The core enterprise confirmed the receivable: %(amount)s, due %(date)s"),
                           N_("The core enterprise disputed the order")),
    "confirm_receipt": ("warehouse_confirmation", "warehouse",
                        N_("The warehouse confirmed the warehouse receipt and that the goods are locked"),
                        N_("The warehouse disputed the warehouse receipt")),
    "supplement": ("supplement", "borrower", N_("The borrower answered the funder's request for more information"),
                   None),
}


def _differs_from_the_order(answer: dict[str, Any], order: dict[str, Any]) -> str:
    """What the reader should notice when the core enterprise confirmed other than the order says: its amount and
    due date as the borrower declared them ("" when they agree)."""
    try:
        same_amount = Decimal(str(answer.get("confirmed_amount"))) == Decimal(str(order.get("order_amount")))
    except InvalidOperation:
        same_amount = False
    if same_amount and str(answer.get("due_date", "")) == str(order.get("order_due_date", "")):
        return ""
    return _(" (the order says %(amount)s, due %(date)s)", amount=_money(order.get("order_amount")),
             date=order.get("order_due_date", ""))


def _answered(application: Application, events: list[ApplicationEvent]) -> list[tuple[int, dict[str, Any]]]:
    """The confirmations the core enterprise and the warehouse gave and the borrower's replies to a request for more,
    each with the index of the timeline's line it follows (the line that asked for it)."""
    if application.instance_id is None:
        return []
    out = []
    for task in db.session.scalars(select(HumanTask).where(
            HumanTask.instance_id == application.instance_id, HumanTask.element_id.in_(tuple(ANSWERED)),
            HumanTask.state == "completed").order_by(HumanTask.completed_at, HumanTask.id)):
        stage, party, confirmed, disputed = ANSWERED[task.element_id]
        answer = task.data or {}
        if disputed is not None and answer.get("decision") != "confirm":
            text = _(disputed)
        elif task.element_id == "confirm_receivable":
            text = _(confirmed, amount=_money(answer.get("confirmed_amount")), date=answer.get("due_date", "")) \
                + _differs_from_the_order(answer, application.details or {})
        else:
            text = _(confirmed)
        asked = [i for i, e in enumerate(events) if e.kind in ("stage", "returned") and e.stage == stage
                 and (task.completed_at is None or e.at <= task.completed_at)]
        out.append((asked[-1] if asked else len(events) - 1, {
            "at": task.completed_at, "kind": "answered", "stage": stage, "by_party": party, "text": text}))
    return out


def timeline(principal: Principal, application: Application, language: str) -> list[dict[str, Any]]:
    """The application's timeline for `principal`, who may see the application (the caller loaded it
    through `applications.get_application`), with texts in `language` (`en` or `zh`), by time then in the
    order its lines were written (`in_time_order`)."""
    funder_side = principal.is_platform or principal.org_id == application.funder_org_id
    # the core enterprise and the warehouse read that the funder returned or rejected it, not why
    lender_or_borrower = funder_side or principal.org_id == application.borrower_org_id
    events = [e for e in events_of(application.id) if e.kind != "edited" or _shows_edits(principal, application)]
    answers: dict[int, list[dict[str, Any]]] = {}
    for after, entry in _answered(application, events):
        answers.setdefault(after, []).append(entry)
    entries: list[dict[str, Any]] = []
    for i, e in enumerate(events):
        by_party = e.data.get("party") if e.kind == "party_signed" and e.data else EVENT_PARTY.get(e.kind)
        entries.append({"at": e.at, "kind": e.kind, "stage": e.stage, "by_party": by_party,
                        "text": _event_text(e, language, lender_or_borrower) + _internal(e, funder_side)})
        entries.extend(answers.get(i, []))
    for entry in _reminders(principal, application, language):  # each after what came before it
        entries.insert(sum(1 for e in entries if e["at"] is not None and e["at"] <= entry["at"]), entry)
    if application.status in ("submitted", "in_review", "returned", "approved", "signing", "disbursing"):
        for task in open_tasks_of(application):
            text, party = _waiting_text(task)
            entries.append({"at": task.created_at, "kind": "waiting", "stage": application.stage,
                            "by_party": party, "text": text})
    return in_time_order(entries)


DERIVED = ("answered", "waiting")  # lines read from a task, not written to the timeline


def in_time_order(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lines by time, then in the order they were written. A line read from a task follows the line it
    answers or waits on and is no earlier than it: the step that writes "waiting for the core enterprise" opened
    the task at its start, a few milliseconds before it wrote the stage line, and the waiting line read earlier
    than the line above it (a reader sorting by time put it first)."""
    for i, entry in enumerate(entries):
        if entry["kind"] in DERIVED and i and entry["at"] is not None and entries[i - 1]["at"] is not None:
            entry["at"] = max(entry["at"], entries[i - 1]["at"])
    order = {id(entry): i for i, entry in enumerate(entries)}
    return sorted(entries, key=lambda e: (e["at"] is None, e["at"] or 0, order[id(e)]))


def _reminders(principal: Principal, application: Application, language: str) -> list[dict[str, Any]]:
    """The reminders (催办) sent about the deal's tasks, read from its history (`notices.reminders`), each to the
    parties who read that task's lane (`party_scope`: its own party, the funder and the platform)."""
    if application.instance_id is None:
        return []
    scope = scope_of(principal, application.instance_id)
    out = []
    for sent in reminders.reminded(application.instance_id):
        task = sent.task
        if not scope.shows_event(reminders.EVENT, task.element_id):
            continue
        party = lane_party(task.lane) or ("platform" if task.lane is None or task.lane in PLATFORM_LANES else None)
        title = labels.task_title(task.title, task.properties, language)
        text = _("A reminder was sent to %(party)s: %(task)s", party=_(REMINDED_PARTIES[party]), task=title) \
            if party in REMINDED_PARTIES else _("A reminder was sent: %(task)s", task=title)
        by = "funder" if sent.sender_org_id is not None and sent.sender_org_id == application.funder_org_id \
            else "platform"
        out.append({"at": sent.at, "kind": "reminded", "stage": application.stage, "by_party": by, "text": text})
    return out


def _internal(event: ApplicationEvent, funder_side: bool) -> str:
    """The risk rules' own reason, which only the funder and the platform read."""
    internal = (event.data or {}).get("internal_reason")
    return _(" (risk rules: %(reason)s)", reason=internal) if internal and funder_side else ""


def _shows_edits(principal: Principal, application: Application) -> bool:
    """Edits of a draft are the borrower's own business; the other parties read what was submitted."""
    return principal.is_platform or principal.org_id == application.borrower_org_id
