"""Every message the services mark for the catalogue (`_l`, `app.services.context.lazy_gettext`) has its
Chinese, with the same parameters, and is given the parameters its template names: a refusal raised in a
Chinese request (or on a Chinese command line) is never left in English, nor fails to format. So does every
refusal of the lending domain (`TermsError`, `LoanStateError`: templates the services say with `readable`)."""
from __future__ import annotations

from tests.unit.catalogue_calls import ROOT, calls, chinese, problems


def test_every_message_the_services_mark_has_its_chinese_with_the_same_parameters():
    marked = calls([*(ROOT / "app" / "services").rglob("*.py"), *(ROOT / "app" / "api").rglob("*.py")], {"_l"})
    assert len(marked) > 300  # the walk finds them
    wrong = problems(marked, chinese(), exact_parameters=lambda call: False)
    assert not wrong, "\n".join(wrong)


def test_every_refusal_of_the_lending_domain_has_its_chinese_with_the_same_parameters():
    raised = calls((ROOT / "app" / "lending").rglob("*.py"), {"TermsError", "LoanStateError"})
    assert len(raised) > 60  # the walk finds them
    wrong = problems(raised, chinese(), exact_parameters=lambda call: False)
    assert not wrong, "\n".join(wrong)
