"""The services know no HTTP and no Flask, the schemas call no service, one business time zone.

Read from the source with `ast`: an import anywhere in a module counts, a late one in a function too.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from app.api.errors import STATUS_BY_KIND, status_of
from app.services import errors
from app.services.workflow.documents import DocumentTooLarge

ROOT = Path(__file__).resolve().parents[2]
CONTEXT = ROOT / "app" / "services" / "context.py"  # the services' one door to the running application
FLASK = ("flask", "flask_babel", "flask_login", "flask_smorest", "flask_sqlalchemy", "flask_wtf", "werkzeug")


def _package(path: Path) -> list[str]:
    return list(path.relative_to(ROOT).parent.parts)


def _imports(path: Path, package: list[str]) -> list[tuple[int, str]]:
    """(line, module) for each import in the file, relative ones resolved from `package`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package[:len(package) - (node.level - 1)]
                module = ".".join([*base, *([module] if module else [])])
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def _breaches(paths: list[Path], forbidden: tuple[str, ...], package: list[str] | None = None) -> list[str]:
    return [f"{p.name}:{line} imports {module}" for p in paths
            for line, module in _imports(p, package or _package(p))
            if any(module == f or module.startswith(f + ".") for f in forbidden)]


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_the_checks_see_the_modules_they_are_about():
    services, schemas = _modules("app/services"), _modules("app/schemas")
    assert CONTEXT in services and len(services) >= 30
    assert ROOT / "app" / "schemas" / "loans.py" in schemas
    web = ROOT / "app" / "web" / "inbox.py"
    assert "app.services.errors.ServiceError" in [m for _line, m in _imports(web, _package(web))]


def test_only_the_context_module_imports_flask():
    others = [p for p in _modules("app/services") if p != CONTEXT]
    assert _breaches(others, FLASK) == []
    assert _breaches([CONTEXT], ("flask",)) != []  # the door is where the rule says


def test_schemas_describe_shapes_and_import_no_service():
    assert _breaches(_modules("app/schemas"), ("app.services",)) == []


@pytest.mark.parametrize(("package", "source", "forbidden"), [
    ("app.services.workflow", "def f():\n    from flask import current_app\n", FLASK),
    ("app.services.ledger", "import flask_babel\n", FLASK),
    ("app.schemas", "from app.services.ledger import loans\n", ("app.services",)),
    ("app.schemas", "from ..services import errors\n", ("app.services",)),
])
def test_a_planted_import_is_caught(tmp_path, package, source, forbidden):
    planted = tmp_path / "planted.py"
    planted.write_text(source, encoding="utf-8")
    assert _breaches([planted], forbidden, package.split(".")) != []


def test_one_place_names_the_business_time_zone():
    """LOANFLOW_TIMEZONE via `app.config.business_timezone`: no module names a zone or reads Babel's copy."""
    config = ROOT / "app" / "config.py"
    named = [f"{p.relative_to(ROOT)}" for top in ("app", "handlers") for p in _modules(top)
             if p != config and ("Asia/Shanghai" in (text := p.read_text(encoding="utf-8"))
                                 or "BABEL_DEFAULT_TIMEZONE" in text)]
    assert named == []


@pytest.mark.parametrize(("error", "status"), [
    (errors.ServiceError, 400), (errors.Unauthorized, 401), (errors.Forbidden, 403), (errors.NotFound, 404),
    (errors.Conflict, 409), (errors.TooLarge, 413), (DocumentTooLarge, 413), (errors.Invalid, 422),
])
def test_each_kind_of_service_error_answers_its_status(error, status):
    exc = error("refused", code="some_reason")
    assert not hasattr(exc, "status")  # the services know no HTTP
    assert status_of(exc) == status and exc.code == "some_reason"


def test_every_kind_has_a_status():
    assert set(STATUS_BY_KIND) == set(errors.ErrorKind)
