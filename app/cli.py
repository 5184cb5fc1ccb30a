"""`flask --app wsgi ...` commands: processes, orgs, users, seed."""
from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import Flask, current_app

from app.cli_channels import channels
from app.cli_compat import compat_command
from app.cli_contracts import contracts
from app.cli_eod import eod, ledger
from app.cli_history import history
from app.cli_language import SpokenGroup
from app.cli_loans import loans
from app.cli_mappings import (
    group_mappings_command,
    map_group_command,
    map_operator_command,
    mappings_command,
    unmap_group_command,
    unmap_operator_command,
)
from app.services.context import gettext
from app.services.errors import ServiceError
from app.services.identity import directory as identity
from app.services.workflow import deployment
from app.services.workflow.diagram_reasons import in_language
from app.services.workflow.timer_starts import start_due
from app.services.workflow.waking import cap_worker_memory, wake_due

processes = SpokenGroup("processes", help="Deploy, validate, list and export BPMN/DMN diagrams.")
orgs = SpokenGroup("orgs", help="Organisations.")
users = SpokenGroup("users", help="Users and API tokens.")
seed = SpokenGroup("seed", help="Seed data.")
timers = SpokenGroup("timers", help="Timers and service retries and timer start events.")
processes.add_command(compat_command)
processes.add_command(map_operator_command)
processes.add_command(mappings_command)
processes.add_command(map_group_command)
processes.add_command(group_mappings_command)
processes.add_command(unmap_operator_command)
processes.add_command(unmap_group_command)


# a deploy's outcome for each process, as the line says it
_STATUSES = {"new": lambda: gettext("new"), "unchanged": lambda: gettext("unchanged")}
# an API token's state, as `users tokens` says it
_TOKEN_STATES = {"active": lambda: gettext("active"), "expired": lambda: gettext("expired"),
                 "revoked": lambda: gettext("revoked")}


def _fail(exc: ServiceError) -> None:
    click.echo(gettext("error: %(message)s", message=exc.message), err=True)
    for name, messages in exc.fields.items():
        for message in messages:
            click.echo(f"  {name}: {message}", err=True)
    sys.exit(1)


@processes.command("deploy")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def deploy_command(paths: tuple[Path, ...]) -> None:
    """Deploy diagrams (default: all of processes/); prints `<id> v<N> new|unchanged`."""
    files = deployment.read_diagram_files(list(paths) or [Path(current_app.config["PROCESSES_DIR"])])
    if not files:
        click.echo(gettext("no diagram files (.bpmn, .dmn, .bpmn20.xml, .dmn11.xml) found"), err=True)
        sys.exit(1)
    try:
        results = deployment.deploy_and_commit(files)
    except ServiceError as exc:
        _fail(exc)
    for r in results:
        click.echo(f"{r.process_id} v{r.version} {_STATUSES[r.status]() if r.status in _STATUSES else r.status}")
        for w in r.warnings:  # as validate says it: where, then why
            line = f":{w['line']}" if w.get("line") else ""
            click.echo(f"  {gettext('warning')}: {w['file']}{line}: {w.get('element_id') or '-'}: "
                       f"{in_language(w['reason'])}", err=True)


@processes.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def validate_command(files: tuple[Path, ...]) -> None:
    """Strictly check diagrams, as every deploy does; exit 1 with the reasons if any has an error."""
    diagrams = deployment.read_diagram_files(list(files))
    problems = deployment.check_diagrams(diagrams)
    for p in problems:
        line = f":{p.line}" if p.line else ""
        severity = gettext("error") if p.severity == "error" else gettext("warning")
        click.echo(f"{severity}: {p.file}{line}: {p.element_id or '-'}: {in_language(p.reason)}")
    if any(p.severity == "error" for p in problems):
        sys.exit(1)
    click.echo(gettext("ok: %(files)d file(s), %(warnings)d warning(s)", files=len(diagrams),
                       warnings=len(problems)))


@processes.command("list")
def list_command() -> None:
    """One line per process: id, latest version, running instances."""
    for p in deployment.list_processes():
        label = gettext("decision") if p.kind == "decision" else gettext("%(n)d running", n=p.running)
        click.echo(f"{p.process_id} v{p.version} {label}")


@processes.command("export")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write the files into this folder (default: print them to stdout).")
def export_command(out_dir: Path | None) -> None:
    """What runs: the source of the latest version of every deployed diagram, and every form as it runs
    (its newest deployed version, maybe saved in the console) under forms/."""
    files = [*deployment.export_sources(), *((f"forms/{name}", content) for name, content in deployment.export_forms())]
    for filename, source in files:
        if out_dir is None:
            click.echo(f"==> {filename} <==")
            click.echo(source.decode("utf-8"))
        else:
            (out_dir / filename).parent.mkdir(parents=True, exist_ok=True)
            (out_dir / filename).write_bytes(source)
            click.echo(str(out_dir / filename))


@orgs.command("create")
@click.argument("code")
@click.option("--kind", "kinds", multiple=True, required=True, help="Repeatable org kind.")
@click.option("--name", required=True)
@click.option("--credit-code", default=None, help="Unified social credit code (18 characters).")
def create_org_command(code: str, kinds: tuple[str, ...], name: str, credit_code: str | None) -> None:
    try:
        org = identity.create_org(code, list(kinds), name, credit_code=credit_code)
    except ServiceError as exc:
        _fail(exc)
    click.echo(gettext("organisation %(code)s (%(kinds)s) created", code=org.code, kinds=", ".join(org.kind_codes)))


@users.command("create")
@click.argument("username")
@click.option("--org", "org_code", required=True)
@click.option("--role", "roles", multiple=True, required=True, help="Repeatable role code.")
@click.option("--name", "display_name", default=None)
@click.option("--email", default=None, help="E-mail address, for e-mail notices.")
@click.option("--mobile", default=None, help="Mainland mobile number, for SMS notices.")
def create_user_command(username: str, org_code: str, roles: tuple[str, ...], display_name: str | None,
                        email: str | None, mobile: str | None) -> None:
    try:
        user = identity.create_user(username, org_code, list(roles), display_name, email=email, mobile=mobile)
    except ServiceError as exc:
        _fail(exc)
    click.echo(gettext("user %(user)s created in %(org)s with %(roles)s", user=user.username, org=org_code,
                       roles=", ".join(sorted(user.role_codes))))


@users.command("token")
@click.argument("username")
@click.option("--days", default=identity.TOKEN_DAYS, show_default=True, type=click.IntRange(1, identity.MAX_TOKEN_DAYS),
              help="How long the token works.")
@click.option("--label", default=None, help="What the token is for (shown in lists, never the token).")
def token_command(username: str, days: int, label: str | None) -> None:
    """Issue a new API token; the token is the last line printed."""
    try:
        token = identity.issue_token(username, days, label)
    except ServiceError as exc:
        _fail(exc)
    click.echo(gettext("API token for %(user)s, valid %(days)d day(s) (shown once):", user=username, days=days))
    click.echo(token)


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ") if moment else "-"


@users.command("tokens")
@click.argument("username")
def tokens_command(username: str) -> None:
    """The user's API tokens, newest first: id, state, created, expires, last used, revoked, label."""
    from app.services.identity import user_admin

    try:
        rows, _total = identity.tokens_of(user_admin.user_by_name(username).id)
    except ServiceError as exc:
        _fail(exc)
    click.echo(f"{gettext('id'):>6}  {gettext('state'):<8} {gettext('created'):<17} {gettext('expires'):<17} "
               f"{gettext('last used'):<17} {gettext('revoked'):<17} {gettext('label')}")
    for row in rows:
        click.echo(f"{row.id:>6}  {_TOKEN_STATES[identity.token_state(row)]():<8} {_when(row.created_at):<17} "
                   f"{_when(identity.token_expiry(row)):<17} {_when(row.last_used_at):<17} "
                   f"{_when(row.revoked_at):<17} {row.label or ''}")


@users.command("revoke-token")
@click.argument("token_id", type=click.IntRange(1, 2 ** 63 - 1))
def revoke_token_command(token_id: int) -> None:
    """Revoke an API token by its id (see `users tokens`): it stops working at once."""
    from app.services.identity import user_admin

    try:
        user_admin.revoke_token(token_id, None)
    except ServiceError as exc:
        _fail(exc)
    click.echo(gettext("token %(id)d revoked", id=token_id))


@users.command("deactivate")
@click.argument("username")
def deactivate_command(username: str) -> None:
    """Deactivate a user: their sessions end and their API tokens stop working at once."""
    _set_active(username, False)


@users.command("activate")
@click.argument("username")
def activate_command(username: str) -> None:
    """Reactivate a user; their tokens that have not expired or been revoked work again."""
    _set_active(username, True)


def _set_active(username: str, active: bool) -> None:
    from app.services.identity import user_admin
    from app.services.workflow import handover

    try:
        released = handover.set_active(user_admin.user_by_name(username), active, None)
    except ServiceError as exc:
        _fail(exc)
    click.echo(gettext("user %(user)s activated", user=username) if active
               else gettext("user %(user)s deactivated", user=username))
    if released:
        click.echo(gettext("%(n)d open task(s) they held handed back to their groups", n=released))


@users.command("unlock")
@click.argument("username")
def unlock_command(username: str) -> None:
    """Lift a user's sign-in lock (after too many failed sign-ins) before it runs out."""
    from app.services.identity import user_admin

    try:
        was_locked = user_admin.unlock(user_admin.user_by_name(username), None)
    except ServiceError as exc:
        _fail(exc)
    click.echo(gettext("user %(user)s unlocked", user=username) if was_locked
               else gettext("user %(user)s was not locked; nothing to lift", user=username))


def _link_base(base_url: str | None) -> str:
    """Where a link a person is given starts: --base-url, else where people reach the platform (PUBLIC_URL,
    LOANFLOW_PUBLIC_URL), as the invitations sent by SMS and e-mail start."""
    return (base_url or current_app.config["PUBLIC_URL"]).rstrip("/")


@users.command("invite")
@click.argument("username")
@click.option("--base-url", default=None, help="Where the link starts (default: LOANFLOW_PUBLIC_URL).")
def invite_command(username: str, base_url: str | None) -> None:
    """A new single-use invitation link for a user without a password (the last line printed)."""
    from app.services.identity import user_admin

    try:
        token = user_admin.invitation_link(user_admin.user_by_name(username), None)
    except ServiceError as exc:
        _fail(exc)
    click.echo(gettext("invitation for %(user)s (valid 7 days, single use):", user=username))
    click.echo(f"{_link_base(base_url)}/invite/{token}")


@users.command("reset-link")
@click.argument("username")
@click.option("--base-url", default=None, help="Where the link starts (default: LOANFLOW_PUBLIC_URL).")
def reset_link_command(username: str, base_url: str | None) -> None:
    """A single-use password reset link for a user who has a password (the last line printed)."""
    from app.services.identity import user_admin

    try:
        token = user_admin.reset_link(user_admin.user_by_name(username), None)
    except ServiceError as exc:
        _fail(exc)
    click.echo(gettext("password reset for %(user)s (valid 2 hours, single use):", user=username))
    click.echo(f"{_link_base(base_url)}/reset/{token}")


@seed.command("demo")
def seed_demo_command() -> None:
    """Demo organisations, a user per role and a few deals (idempotent); prints the logins."""
    from app.demo import DEMO_PASSWORD, seed_demo

    users = seed_demo()
    click.echo(gettext("demo users (password for all: %(password)s):", password=DEMO_PASSWORD))
    for username, org, roles in users:
        click.echo(f"  {username:<12} {org:<9} {roles}")


@seed.command("admin")
def seed_admin_command() -> None:
    """Create the platform organisation and its admin if missing; print a fresh token for it."""
    token = identity.ensure_platform_admin()
    click.echo(gettext("platform admin: admin (organisation PLATFORM)"))
    click.echo(token)


@timers.command("run-due")
@click.option("--now", "at", default=None, help="ISO 8601 time to act at (default: the current time).")
def run_due_command(at: str | None) -> None:
    """Fire every timer and service retry due at `--now`, and start the instances timer start events start."""
    if at is not None:
        try:
            moment = datetime.fromisoformat(at)
        except ValueError:
            click.echo(gettext("error: %(message)s", message=gettext("--now must be ISO 8601, got %(value)s",
                                                                      value=repr(at))), err=True)
            sys.exit(2)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    previous = current_app.extensions.get("loanflow_clock")
    if at is not None:
        current_app.extensions["loanflow_clock"] = lambda: moment
    try:
        report = wake_due()
        started = start_due()
    finally:
        if previous is None:
            current_app.extensions.pop("loanflow_clock", None)
        else:
            current_app.extensions["loanflow_clock"] = previous
    click.echo(gettext("woke %(n)d instance(s)", n=len(report.woken))
               + (gettext(", %(n)d skipped", n=report.skipped) if report.skipped else "")
               + (gettext("; started %(n)d at timer start events", n=len(started.started)) if started.started else "")
               + (gettext(" (%(n)d firing(s) started none)", n=started.failed) if started.failed else ""))


@click.command("worker")
@click.option("--interval", default=1.0, show_default=True, help="Seconds between passes over due instances.")
def worker_command(interval: float) -> None:
    """Run the background worker: timers and service retries (APScheduler)."""
    from app.scheduler import run_worker

    cap_worker_memory()
    run_worker(current_app._get_current_object(), interval)  # type: ignore[attr-defined]


def register_cli(app: Flask) -> None:
    for group in (processes, orgs, users, seed, timers):
        app.cli.add_command(group)
    app.cli.add_command(worker_command)
    app.cli.add_command(loans)
    app.cli.add_command(eod)
    app.cli.add_command(ledger)
    app.cli.add_command(channels)
    app.cli.add_command(contracts)
    app.cli.add_command(history)
