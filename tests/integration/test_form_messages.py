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


OUTCOME = {"type": "object", "properties": {"outcome": {
    "type": "string", "enum": ["promised", "no_answer"], "enumNames": ["Promised to pay", "No answer"],
    "enumNames@zh": ["承诺还款", "无人接听"]}, "kind": {"type": "string", "enum": ["a_code", "b_code"]}}}


@pytest.mark.parametrize("locale, said", [("zh", "请从以下选项中选择：承诺还款, 无人接听。"),
                                          ("en", "Choose one of: Promised to pay, No answer.")])
def test_a_choice_not_offered_is_refused_with_the_choices_as_the_form_names_them(app, locale, said):
    """A collector's forged `outcome=promise` read "请从以下选项中选择：promised, reached, no_answer, …": codes on a
    Chinese page. A form that names its choices names them; one that does not gives its values."""
    with app.test_request_context("/"), force_locale(locale):
        with pytest.raises(Invalid) as raised:
            validate_submission(OUTCOME, {"outcome": "promise", "kind": "c_code"})
        fields = {k: [str(m) for m in v] for k, v in raised.value.fields.items()}
    assert fields["outcome"] == [said]
    assert fields["kind"] == [("请从以下选项中选择：a_code, b_code。" if locale == "zh"
                               else "Choose one of: a_code, b_code.")]
