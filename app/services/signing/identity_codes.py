"""A signer asks for the SMS verification code of their identity verification (获取验证码): the identity
provider sends it to the mobile number they typed on the task (`providers.identity().send_code`).

Only for an open identity-verification task the asker may work (`flows.PARTY_TASKS`); the number must be
an 11-digit mainland mobile number. A sandbox provider answers the code it accepts, which the page then
shows; a real provider never says it.
"""
from __future__ import annotations

from typing import Any

from app.extensions import db
from app.models import HumanTask
from app.services.context import lazy_gettext as _l
from app.services.errors import Conflict, Invalid
from app.services.identity.directory import Principal
from app.services.signing import providers
from app.services.signing.flows import PARTY_TASKS
from app.services.workflow import tasks
from handlers.errors import ProviderError
from handlers.notify import valid_mobile

MOBILE_FORMAT = _l("Enter an 11-digit mainland China mobile number starting with 13 to 19.")


def masked(mobile: str) -> str:
    """A mobile number as a page repeats it: 138****8000."""
    return f"{mobile[:3]}****{mobile[-4:]}"


def send_code(principal: Principal, task_id: int, mobile: str) -> dict[str, Any]:
    """The code sent to `mobile` for `principal`'s identity verification in task `task_id`:
    `{"mobile": masked, "sandbox_code": the sandbox's code or ""}`. 409 for a task that is not the asker's open
    identity verification, 422 naming `mobile` for a number that is not a mainland mobile number, 409 when the
    provider cannot send it now."""
    task = db.session.get(HumanTask, task_id)
    if task is None or task.element_id not in PARTY_TASKS.values() or not tasks.may_work(task_id, principal):
        raise Conflict(_l("A verification code is sent only for your own identity verification."),
                       code="not_identity_verification")
    number = mobile.strip()
    if not valid_mobile(number):
        raise Invalid(MOBILE_FORMAT, {"mobile": [MOBILE_FORMAT]})
    try:
        sent = providers.identity().send_code(number)
    except (ProviderError, ValueError):
        raise Conflict(_l("The verification code could not be sent just now: please try again in a moment."),
                       code="code_not_sent") from None
    return {"mobile": masked(number), "sandbox_code": sent.sandbox_code}
