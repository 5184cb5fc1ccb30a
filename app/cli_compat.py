"""`flask --app wsgi processes compat DIR`: a folder of diagrams driven through Loanflow on a throwaway database."""
from __future__ import annotations

import json
import secrets
import tempfile
from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_babel import force_locale

from app.cli_language import speaks
from app.services.context import gettext, language
from app.services.workflow.diagram_reasons import in_language


def _throwaway_app(folder: Path, tmp: Path):  # noqa: ANN202 - a Flask application
    """Its own application on an empty SQLite database in `tmp`, with the schema the migrations make
    (as the test suite makes its databases); the configured database is never opened."""
    from flask_migrate import upgrade

    from app import create_app

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'compat.db'}",
        "SECRET_KEY": secrets.token_hex(16),
        "SECRET_KEY_FILE": str(tmp / "secret_key"),
        "FORMS_DIR": str(folder),
        "PROCESSES_DIR": str(folder),
        "RATELIMIT_ENABLED": False,
        "PASSWORD_HASH_FAST": True,
        "LOG_LEVEL": "WARNING",
    })
    with app.app_context():
        upgrade()
    return app


@click.command("compat")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the rows to this file as JSON.")
@with_appcontext
@speaks
def compat_command(folder: Path, json_out: Path | None) -> None:
    """Parse, import, check, deploy and drive every diagram of FOLDER to an end event, on a throwaway
    database; a table of what ran and why the others did not, and `ran N of M executable processes`."""
    from app.extensions import db
    from app.services.workflow.compat import CompatRun, Row, SettableClock
    from app.services.workflow.compat_report import shortened

    folder = folder.resolve()
    header = (gettext("file"), gettext("process"), gettext("parsed"), gettext("imported"), gettext("lint"),
              gettext("deployed"), gettext("ran"), gettext("reason"))
    click.echo("\t".join(header))
    chosen = language()

    def yes_no(flag: bool) -> str:
        return gettext("yes") if flag else gettext("no")

    def show(row: Row) -> None:
        with force_locale(chosen):  # shown from inside the throwaway application, which runs in English
            reason = (gettext("TRACEBACK %(traceback)s", traceback=row.traceback) if row.traceback
                      else row.reason)
            ran = gettext("n/a") if not row.executable else yes_no(row.ran)
            click.echo("\t".join((row.file, row.process_id, yes_no(row.parsed), shortened(row.imported),
                                  yes_no(row.lint_ok), yes_no(row.deployed), ran, shortened(reason))))

    with tempfile.TemporaryDirectory(prefix="loanflow-compat-") as tmp:
        app = _throwaway_app(folder, Path(tmp))
        clock = SettableClock()
        app.extensions["loanflow_clock"] = clock

        def use_forms(where: Path) -> None:
            app.config["FORMS_DIR"] = str(where)

        # the diagrams are checked, deployed and run in English whatever the command line speaks: the
        # reasons are grouped by their English words (`compat_why`) and the JSON is read by programs
        with app.app_context(), force_locale("en"):
            try:
                report = CompatRun(folder, clock, use_forms).run(show)
            finally:
                db.session.remove()
                db.engine.dispose()
    click.echo(gettext("false completions: %(count)s", count=report.false_completions))
    click.echo(gettext("tracebacks: %(count)s", count=report.tracebacks))
    click.echo(gettext("disagreements: %(count)s", count=report.disagreements))
    ceiling = report.ceiling()
    for line in ceiling.lines():
        click.echo(in_language(line))
    click.echo(in_language(report.summary()))
    if json_out is not None:
        json_out.write_text(json.dumps({"summary": report.summary(), "disagreements": report.disagreements,
                                        "not_run": dict(ceiling.counts), "ceiling": ceiling.ceiling,
                                        "runnable_here": ceiling.runnable_here, "rows": report.as_dicts()},
                                       indent=1, ensure_ascii=False), encoding="utf-8")
