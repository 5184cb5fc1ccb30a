"""The house's one-way arrows (docs/architecture.md), read from the source with `ast`.

Each rule is a table row: a set of modules and what they may not import. A rule is broken by any
import statement, at module level or inside a function (a late import is still a dependency).
The module-level import graph of `app/` and `handlers/` must also have no cycle.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# The services' domains and their ranks: a module may import a domain of a lower rank, never one
# of the same or a higher rank (peers stay apart, so no cycle can form between them).
DOMAIN_RANK = {"identity": 0, "workflow": 1, "simulators": 1, "ledger": 2, "notices": 2, "origination": 3, "collateral": 3, "collections": 3,
               "signing": 4, "servicing": 5}
SHARED_SERVICE_MODULES = {"app.services.errors", "app.services.clock", "app.services.context"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    return {_module_name(p): p for top in ("app", "handlers") for p in sorted((ROOT / top).rglob("*.py"))}


SOURCES = _sources()


def _imports(path: Path, module_level_only: bool = False) -> Iterator[tuple[int, str]]:
    """(line, imported module) for each import; `from a import b` yields a.b when that is a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if module_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                name = _module_name(path)
                package = name if path.name == "__init__.py" else name.rpartition(".")[0]
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:
                if f"{module}.{alias.name}" in SOURCES:
                    yield node.lineno, f"{module}.{alias.name}"


def _domain(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) >= 3 and parts[:2] == ["app", "services"] and parts[2] in DOMAIN_RANK:
        return parts[2]
    return None


def _within(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _edges() -> list[str]:
    """The application's edges: routes, pages, the simulators' APIs and pages, the command line and the
    worker's loop."""
    return [m for m in SOURCES if _within(m, "app.api", "app.web", "app.simulators", "app.cli", "app.cli_eod",
                                               "app.cli_loans", "app.scheduler")]


def _violations(modules: list[str], forbidden: tuple[str, ...]) -> list[str]:
    return [f"{m}:{line} imports {imported}" for m in modules for line, imported in _imports(SOURCES[m])
            if _within(imported, *forbidden)]


def test_the_rules_see_the_modules_they_are_about():
    """Guard against a rule that passes because it looks at nothing."""
    assert {"app.services.identity.grants", "app.services.workflow.runtime", "app.services.ledger.eod",
            "app.api.loans", "app.web.inbox", "app.simulators.api", "app.cli", "app.engine.runner", "app.lending.money",
            "app.schemas.loans"} <= set(SOURCES)
    assert sum(1 for m in SOURCES if _domain(m)) >= 25
    lines = list(_imports(SOURCES["app.services.ledger.eod"]))
    assert any(imported == "app.services.ledger.journal" for _line, imported in lines)


def test_a_domain_imports_only_domains_below_it():
    broken = []
    for module in SOURCES:
        here = _domain(module)
        if here is None:
            continue
        for line, imported in _imports(SOURCES[module]):
            there = _domain(imported)
            if there is not None and there != here and DOMAIN_RANK[there] >= DOMAIN_RANK[here]:
                broken.append(f"{module}:{line} ({here}) imports {imported} ({there})")
    assert broken == []


def test_shared_service_modules_import_no_domain():
    broken = [f"{m}:{line} imports {imported}" for m in SHARED_SERVICE_MODULES if m in SOURCES
              for line, imported in _imports(SOURCES[m]) if _domain(imported)]
    assert broken == []


def test_routes_pages_and_the_command_line_reach_neither_the_engine_nor_the_tables():
    assert _violations(_edges(), ("app.engine", "app.models")) == []


def test_schemas_describe_shapes_and_call_no_service_or_engine():
    schemas = [m for m in SOURCES if _within(m, "app.schemas")]
    assert _violations(schemas, ("app.services", "app.engine", "app.api", "app.web", "app.simulators")) == []


def test_services_know_no_routes_or_pages():
    services = [m for m in SOURCES if _within(m, "app.services")]
    assert _violations(services, ("app.api", "app.web", "app.simulators", "app.cli", "app.schemas")) == []


def test_the_engine_knows_no_application():
    engine = [m for m in SOURCES if _within(m, "app.engine")]
    assert _violations(engine, ("app.services", "app.models", "app.api", "app.web", "app.extensions", "flask",
                                "sqlalchemy", "handlers")) == []


def test_only_the_engine_imports_spiffworkflow():
    others = [m for m in SOURCES if not _within(m, "app.engine")]
    assert _violations(others, ("SpiffWorkflow",)) == []


def test_the_money_code_is_pure():
    lending = [m for m in SOURCES if _within(m, "app.lending")]
    broken = [f"{m}:{line} imports {imported}" for m in lending for line, imported in _imports(SOURCES[m])
              if _within(imported, "app", "handlers", "flask", "sqlalchemy") and not _within(imported, "app.lending")]
    assert broken == []


def test_adapters_know_no_flask_no_tables_and_no_domain():
    adapters = [m for m in SOURCES if _within(m, "handlers")]
    assert _violations(adapters, ("app", "flask", "sqlalchemy", "flask_sqlalchemy")) == []


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of the graph (its modules, the first repeated at the end), or []."""
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as exc:
        return list(exc.args[1])
    return []


def _module_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in SOURCES.items():
        targets = set()
        for _line, imported in _imports(path, module_level_only=True):
            # `import a.b.c` runs a/__init__ and a/b/__init__ too, but a package's own __init__
            # importing its modules is how packages work: count the module actually named
            if imported in SOURCES and imported != module:
                targets.add(imported)
        graph[module] = targets
    return graph


def test_no_import_cycle():
    assert _cycle(_module_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    cycle = _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
    assert set(cycle) == {"a", "b", "c"} and cycle[0] == cycle[-1]
    assert _cycle({"a": {"b"}, "b": set(), "d": {"a", "b"}}) == []


@pytest.mark.parametrize("rule", ["domain", "edge"])
def test_the_rules_would_catch_a_breach(rule, tmp_path, monkeypatch):
    """A planted breach is reported: the rules are not vacuous."""
    if rule == "domain":
        planted = tmp_path / "planted.py"
        planted.write_text("from app.services.ledger import journal\n", encoding="utf-8")
        monkeypatch.setitem(SOURCES, "app.services.identity.planted", planted)
        with pytest.raises(AssertionError):
            test_a_domain_imports_only_domains_below_it()
    else:
        planted = tmp_path / "planted.py"
        planted.write_text("def f():\n    from app.models import Loan\n", encoding="utf-8")
        monkeypatch.setitem(SOURCES, "app.api.planted", planted)
        with pytest.raises(AssertionError):
            test_routes_pages_and_the_command_line_reach_neither_the_engine_nor_the_tables()
