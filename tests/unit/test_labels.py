"""Business content in every language from the file that defines it (app.services.workflow.labels)."""
from __future__ import annotations

import json
import re

from app.services.workflow import labels
from tests.conftest import ROOT

DECISION = {"type": "string", "title": "Decision", "title@zh": "审批意见", "enum": ["approve", "reject"],
            "enumNames": ["Approve", "Reject"], "enumNames@zh": ["同意", "拒绝"]}


def test_a_keyword_in_the_readers_language_else_in_english():
    assert labels.localized(DECISION, "title", "zh") == "审批意见"
    assert labels.localized(DECISION, "title", "en") == "Decision"
    assert labels.localized({"title": "Decision"}, "title", "zh") == "Decision"
    assert labels.localized({}, "title", "zh") is None


def test_choice_labels_follow_the_language_and_never_misalign():
    assert labels.choice_labels(DECISION, "zh") == ["同意", "拒绝"]
    assert labels.choice_labels(DECISION, "en") == ["Approve", "Reject"]
    short = {**DECISION, "enumNames@zh": ["同意"]}  # one label for two choices: English, not a shifted list
    assert labels.choice_labels(short, "zh") == ["Approve", "Reject"]
    assert labels.choice_labels({"enum": ["a", "b"]}, "zh") is None


def test_a_form_without_labels_in_both_languages_is_named_field_by_field():
    schema = {"title": "Review", "properties": {
        "decision": {"type": "string", "title": "Decision", "enum": ["approve", "reject"]},
        "notes": {"type": "string", "title": "Notes", "title@zh": "说明", "description": "Why"},
        "items": {"type": "array", "items": {"type": "object", "properties": {"amount": {"type": "string"}}}},
        "checks": {"type": "array", "title": "Checks", "title@zh": "核查项",
                   "items": {"type": "string", "enum": ["invoice"], "enumNames": ["Invoice"]}},  # several choices
    }}
    problems = labels.form_label_problems(schema)
    assert any("choices of field 'checks'" in p for p in problems)
    assert any("no title" in p for p in problems)
    assert any("'decision' has no label" in p for p in problems)
    assert any("choices of field 'decision'" in p for p in problems)
    assert any("'notes' has a description but none in zh" in p for p in problems)
    assert any("'items[].amount' has no label" in p for p in problems)
    assert not any("'notes' has no label" in p for p in problems)
    assert labels.form_label_problems({"title": "Review", "title@zh": "审核",
                                       "properties": {"decision": DECISION}}) == []


def test_what_is_missing_is_named_in_the_language_it_is_missing_in():
    """A label written in one language only was said missing "in English and zh" — both — which it was not."""
    assert labels.form_label_problems({"title": "Review", "title@zh": "审核", "properties": {
        "a": {"type": "string", "title": "Amount"}, "b": {"type": "string", "title@zh": "金额"}}}) == [
        "field 'a' has no label in zh (title@zh)", "field 'b' has no label in English (title)"]
    assert labels.form_label_problems({"title@zh": "审核", "properties": {}}) == ["the form has no title in English "
                                                                                "(title)"]


def test_names_written_in_chinese_in_the_english_place_are_said_to_be_chinese():
    """An Activiti or Flowable diagram drawn in China names its tasks and fields in Chinese, in `name`: validate
    said they had "no name in zh" — the only language they had."""
    assert labels.task_label_problems("主管审批", {}) == [
        "the user task '主管审批' is named in Chinese only: write its English name as its name and this one as the "
        "property name@zh"]
    assert labels.process_label_problems({"en": "请假流程"}) == [
        "the process '请假流程' is named in Chinese only: write its English name as its name and this one as the "
        "property name@zh on the process"]
    assert labels.form_label_problems({"title": "审批", "properties": {"ok": {"type": "boolean", "title": "同意"}}}) == [
        "the form's title '审批' is in Chinese only: write the English title as title and this one as title@zh",
        "field 'ok' is labelled in Chinese only ('同意'): write the English label as title and this one as title@zh"]
    assert labels.task_label_problems("Review 华为 order", {"name@zh": "审核华为订单"}) == []  # a name in English
    assert labels.task_label_problems("Review", {}) == ["the user task 'Review' has no name in zh (property name@zh)"]


def test_the_shipped_forms_are_labelled_in_both_languages():
    for path in sorted((ROOT / "forms").glob("*.json")):
        if path.name.endswith("-uischema.json"):  # a UI schema (widgets, order) labels nothing
            continue
        assert labels.form_label_problems(json.loads(path.read_text(encoding="utf-8"))) == [], path.name


def test_no_shipped_form_points_above_to_what_the_task_page_shows_beside_or_below_it():
    """The task page puts the deal, the key data and the earlier decisions beside the form (below it on a narrow
    screen): a form's instructions said they were 'above' (见上方)."""
    for path in sorted((ROOT / "forms").glob("*.json")):
        form = json.loads(path.read_text(encoding="utf-8"))
        said = f"{form.get('description') or ''} {form.get('description@zh') or ''}"
        assert re.search(r"\b(is|are|data) above\b", said) is None and "上方" not in said, path.name


def test_a_user_task_is_named_in_the_readers_language():
    assert labels.task_title("First review", {"name@zh": "初审"}, "zh") == "初审"
    assert labels.task_title("First review", {"name@zh": "初审"}, "en") == "First review"
    assert labels.task_title("First review", {}, "zh") == "First review"
    assert labels.task_label_problems("First review", {"name@zh": "初审"}) == []
    # each says which name is missing (it said "no name in English and zh" of a task named in English)
    assert labels.task_label_problems("First review", {}) == [
        "the user task 'First review' has no name in zh (property name@zh)"]
    assert labels.task_label_problems(None, {"name@zh": "初审"}) == ["the user task has no name in English (name)"]
    assert labels.task_label_problems(None, {}) == [
        "the user task has no name in English and zh (name, property name@zh)"]


def test_a_process_is_named_in_the_readers_language_else_english_else_its_id():
    names = {"en": "Risk approval", "zh": "风险审批"}
    assert labels.process_title(names, "risk_approval", "zh") == "风险审批"
    assert labels.process_title({"en": "Risk approval"}, "risk_approval", "zh") == "Risk approval"
    assert labels.process_title({}, "risk_approval", "zh") == "risk_approval"
    assert labels.process_label_problems(names) == []
    assert labels.process_label_problems({"en": "Risk approval"}) == [
        "the process 'Risk approval' has no name in zh (property name@zh on the process)"]
    assert labels.process_label_problems({"zh": "风险审批"}) == ["the process has no name in English (name)"]
    assert labels.process_label_problems({}) == [
        "the process has no name in English and zh (name, property name@zh on the process)"]
