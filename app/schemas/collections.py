"""The collections cases over the API: a case as its list shows it, and an assignment to an agency."""
from marshmallow import Schema, fields, validate


class ContactSchema(Schema):
    contact_date = fields.String(metadata={"format": "date"})
    contact_time = fields.String(metadata={"description": "China time, HH:MM"})
    channel = fields.String(metadata={"description": "phone, sms, field_visit, letter, other"})
    channel_label = fields.String(metadata={"description": "the channel in the reader's language"})
    outcome = fields.String(metadata={"description": "promised, reached, no_answer, refused, wrong_contact"})
    outcome_label = fields.String(metadata={"description": "the outcome in the reader's language"})
    promise_date = fields.String(allow_none=True, metadata={"format": "date"})
    promise_amount = fields.String(allow_none=True, metadata={"example": "500.00"})
    note = fields.String(allow_none=True)
    next_step = fields.String()


class ReachSchema(Schema):
    name = fields.String(metadata={"description": "a user of the borrower's organisation"})
    mobile = fields.String(metadata={"example": "13800138000"})
    email = fields.String()


class CaseSchema(Schema):
    id = fields.Integer(metadata={"description": "the case's process instance"})
    loan = fields.String(metadata={"example": "LOAN-APP-2026-0001"})
    loan_id = fields.Integer(allow_none=True)
    borrower = fields.String(allow_none=True)
    dpd = fields.Integer(allow_none=True, metadata={"description": "days past due as of the last end-of-day run (an "
                                                     "ended case: when it ended)"})
    bucket = fields.String(allow_none=True, metadata={"description": "current, 1-30, 31-60, 61-90, 91+"})
    amount_overdue = fields.String(allow_none=True, metadata={"example": "1068.08"})
    action = fields.String(allow_none=True, metadata={"description": "the current action in the reader's language"})
    status = fields.String(metadata={"description": "the instance's status: waiting, running, completed, ..."})
    ended = fields.String(allow_none=True, metadata={"description": "how the case ended, in the reader's language"})
    agency = fields.String(allow_none=True, metadata={"description": "the collection agency working the case "
                                                                     "(none: the platform's own agents)"})
    contacts = fields.List(fields.Nested(ContactSchema))
    promises = fields.List(fields.Nested(ContactSchema))
    broken_promises = fields.Integer()
    reach = fields.List(fields.Nested(ReachSchema), metadata={
        "description": "how the borrower is reached (one case only; the list answers none)"})
    waiting_on = fields.String(allow_none=True, metadata={"description": "the open task, in the reader's language"})


class AssignmentSchema(Schema):
    agency = fields.String(required=True, validate=validate.Length(min=1, max=64),
                           metadata={"description": "the code of a collection_agency organisation"})
