"""What the strict check finds in diagrams nobody here wrote is said, so an analyst reads it in Chinese.

Every BPMN file of the corpus (`shared/corpus/`, skipped without it) goes through the check a deploy
runs; every finding must be said with its template (`app.engine.said`), and, rendered in a Chinese
request, must read in Chinese: a finding that came out in English only (an f-string, a text of
SpiffWorkflow's no table knows) fails here with its file."""
from __future__ import annotations

import re

from app.engine.said import Said
from app.services.workflow import deployment
from app.services.workflow.diagram_reasons import in_language
from tests.integration.test_corpus import CORPUS, require_corpus

CHINESE = re.compile(r"[\u4e00-\u9fff]")


def test_every_finding_on_the_corpus_is_said_and_reads_in_chinese(app):
    rows = require_corpus()
    paths = [r["local_path"] for r in rows if r["kind"] == "bpmn" and r["local_path"].endswith((".bpmn", ".bpmn20.xml"))]
    unsaid, english, count = [], [], 0
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        for path in paths:
            file = deployment.DiagramFile(path.rsplit("/", 1)[-1], (CORPUS / path).read_bytes())
            for problem in deployment.check_diagrams([file]):
                count += 1
                if not isinstance(problem.reason, Said):
                    unsaid.append(f"{path}: {problem.reason}")
                elif not CHINESE.search(in_language(problem.reason)):
                    english.append(f"{path}: {problem.reason}")
    assert count > 1000  # the corpus's diagrams have findings to say (2,196 when this was written)
    assert not unsaid, "\n".join(unsaid[:20])
    assert not english, "\n".join(english[:20])
