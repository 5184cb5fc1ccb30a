"""Form errors a person reads are in their language, also for a box that must be ticked (`const`)."""
import pytest
from flask_babel import force_locale

from app.services.errors import Invalid
from app.services.workflow.forms import validate_submission

CONSENT = {"type": "object", "required": ["consent"],
           "properties": {"consent": {"type": "boolean", "const": True}, "unit": {"type": "string", "const": "kg"}}}


@pytest.mark.parametrize("locale, confirm, must", [("zh", "请确认。", "必须为 kg。"), ("en", "Please confirm.", "Must be kg.")])
def test_an_unticked_consent_says_to_confirm_in_the_readers_language(app, locale, confirm, must):
    with app.test_request_context("/"), force_locale(locale):
        with pytest.raises(Invalid) as raised:
            validate_submission(CONSENT, {"consent": False, "unit": "t"})
        fields = {k: [str(m) for m in v] for k, v in raised.value.fields.items()}
    assert fields == {"consent": [confirm], "unit": [must]}
    with app.test_request_context("/"):
        validate_submission(CONSENT, {"consent": True, "unit": "kg"})  # ticked: no error
