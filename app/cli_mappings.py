"""The import layer's mapping tables from the command line: `flask --app wsgi processes map-operator KIND
VALUE OPERATOR`, `processes unmap-operator KIND VALUE` and `processes mappings` (which registered operator
runs a Camunda service task); `processes map-group GROUP ROLE`, `processes unmap-group GROUP` and
`processes group-mappings` (which role is offered a Camunda group's user tasks)."""
from __future__ import annotations

import json
import sys
from collections.abc import Callable

import click
from flask.cli import with_appcontext

from app.cli_language import speaks
from app.extensions import db
from app.services.context import gettext
from app.services.errors import ServiceError
from app.services.workflow import group_mappings, operator_mappings


def _refused(exc: ServiceError) -> None:
    """A mapping refused: rolled back, and why said field by field on stderr."""
    db.session.rollback()
    click.echo(gettext("error: %(message)s", message=exc.message), err=True)
    for name, messages in exc.fields.items():
        for message in messages:
            click.echo(f"  {name}: {message}", err=True)


@click.command("map-operator")
@click.argument("kind", type=click.Choice(operator_mappings.KINDS))
@click.argument("value")
@click.argument("operator_name", metavar="OPERATOR")
@click.option("--param", "params", multiple=True, metavar="NAME=EXPRESSION",
              help="A parameter passed to the operator: a Python expression on the task's data (repeatable).")
@with_appcontext
@speaks
def map_operator_command(kind: str, value: str, operator_name: str, params: tuple[str, ...]) -> None:
    """Map an implementation (camunda:class, delegateExpression, expression, an external task's topic,
    a camunda:connector's id, a Camunda 8 job type, or `task` and the name of a task that names no
    implementation) to a registered OPERATOR; diagrams deployed from now on call it."""
    parameters = {}
    for param in params:
        name, sep, expression = param.partition("=")
        if not sep:
            click.echo(gettext("error: --param %(param)s is not NAME=EXPRESSION", param=repr(param)),
                       err=True)
            sys.exit(2)
        parameters[name.strip()] = expression.strip()
    try:
        mapping = operator_mappings.set_mapping(kind, value, operator_name, parameters)
        db.session.commit()
    except ServiceError as exc:
        _refused(exc)
        if "operator_name" in exc.fields:
            operators = gettext("registered operators: %(operators)s",
                                operators=", ".join(operator_mappings.operators()))
            click.echo(f"  {operators}", err=True)
        sys.exit(1)
    click.echo(f"{mapping.kind} {mapping.value} -> {mapping.operator}")


@click.command("mappings")
@with_appcontext
@speaks
def mappings_command() -> None:
    """The operator mapping table: kind, value, operator, parameters (tab-separated)."""
    for m in operator_mappings.mappings():
        click.echo("\t".join((m.kind, m.value, m.operator, json.dumps(m.parameters, ensure_ascii=False))))


@click.command("map-group")
@click.argument("group")
@click.argument("role")
@with_appcontext
@speaks
def map_group_command(group: str, role: str) -> None:
    """Map a Camunda GROUP (as camunda:candidateGroups names it) to a ROLE: diagrams deployed from now on
    offer its user tasks to that role."""
    try:
        mapping = group_mappings.set_mapping(group, role)
        db.session.commit()
    except ServiceError as exc:
        _refused(exc)
        sys.exit(1)
    click.echo(f"{mapping.group} -> {mapping.role}")


@click.command("group-mappings")
@with_appcontext
@speaks
def group_mappings_command() -> None:
    """The group mapping table: group, role (tab-separated)."""
    for m in group_mappings.mappings():
        click.echo(f"{m.group}\t{m.role}")


def _unmapped(remove: Callable[[], None]) -> None:
    """Remove a mapping and commit; exit 1 saying so when there is none."""
    try:
        remove()
        db.session.commit()
    except ServiceError as exc:
        _refused(exc)
        sys.exit(1)
    click.echo(gettext("removed; diagrams deployed from now on do not use it"))


@click.command("unmap-operator")
@click.argument("kind", type=click.Choice(operator_mappings.KINDS))
@click.argument("value")
@with_appcontext
@speaks
def unmap_operator_command(kind: str, value: str) -> None:
    """Remove the mapping of an implementation; deployed versions keep the operator they were deployed with."""
    _unmapped(lambda: operator_mappings.unset_mapping(kind, value))


@click.command("unmap-group")
@click.argument("group")
@with_appcontext
@speaks
def unmap_group_command(group: str) -> None:
    """Remove the mapping of a GROUP; deployed versions keep the roles they were deployed with."""
    _unmapped(lambda: group_mappings.unset_mapping(group))
