"""What every parse of the analysts' diagrams hands the import layer: the admin's mapping tables, read
at that moment (`parse_diagrams(files, ..., **import_tables.for_import())`) — which operator runs each
Camunda service implementation (`operator_mappings`) and which role is offered each Camunda group's
user tasks (`group_mappings`) — and the entries of them a file names (`named_by`), which a process's
content hash includes: a file deployed again after one of its mappings changed is a new version."""
from __future__ import annotations

from typing import Any

from app.engine import camunda_services, camunda_user_tasks, vendor_namespaces, zeebe_elements
from app.engine.errors import DiagramRejected
from app.engine.xml import read_xml
from app.services import context
from app.services.workflow import group_mappings, operator_mappings


def for_import() -> dict[str, Any]:
    return {"operator_map": operator_mappings.for_import(), "group_map": group_mappings.for_import()}


def named_by(content: bytes) -> list[list[Any]]:
    """The mappings a diagram's implementations and groups find in the tables now, in a stable order;
    [] for a diagram that names none (Loanflow's own), so their hashes are what they always were."""
    try:
        root = read_xml(content, "diagram", context.config("MAX_DIAGRAM_BYTES"))
    except DiagramRejected:
        return []
    vendor_namespaces.as_camunda(root)  # as the import reads it
    zeebe_elements.as_camunda(root)
    tables = for_import()
    operators = tables["operator_map"]
    groups = tables["group_map"]
    found: list[list[Any]] = []
    for key in camunda_services.implementations(root):
        if key in operators:
            operator = operators[key]
            found.append(["implementation", *key, operator.operator, sorted(operator.parameters.items())])
    found += [["group", group, groups[group]] for group in sorted(camunda_user_tasks.candidate_groups(root))
              if group in groups]
    return found
