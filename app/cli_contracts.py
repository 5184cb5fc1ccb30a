"""`flask --app wsgi contracts verify FILE.pdf`: each signature of a signed contract, its signer and
whether it is intact and trusted (by the e-signature simulator's sandbox CA, or the CA certificates
given with --trust)."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from cryptography import x509

from app.cli_language import SpokenGroup
from app.services.context import gettext
from app.services.simulators.esign_ca import trust_root
from handlers.esign.pades import verify_pdf

contracts = SpokenGroup("contracts", help="Signed contracts.")


def _trusted(paths: tuple[str, ...]) -> list[x509.Certificate]:
    if paths:
        try:
            return [x509.load_pem_x509_certificate(Path(p).read_bytes()) for p in paths]
        except (OSError, ValueError) as exc:
            click.echo(gettext("error: --trust must name PEM certificates: %(problem)s", problem=exc),
                       err=True)
            sys.exit(2)
    root = trust_root()
    if root is None:
        click.echo(gettext("error: the e-signature simulator has no sandbox CA yet; give the CA with "
                           "--trust CA.pem"), err=True)
        sys.exit(2)
    return [root]


def _yes(flag: bool) -> str:
    return gettext("yes") if flag else gettext("NO")


@contracts.command("verify")
@click.argument("pdf", type=click.Path(exists=True, dir_okay=False))
@click.option("--trust", "trust", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A CA certificate (PEM) to trust instead of the simulator's; repeatable.")
def verify_command(pdf: str, trust: tuple[str, ...]) -> None:
    """Print each signature (field, signer, intact, trusted, signed at); exit 1 unless every one is both."""
    roots = _trusted(trust)
    try:
        reports = verify_pdf(Path(pdf).read_bytes(), roots)
    except ValueError as exc:
        click.echo(gettext("error: %(message)s", message=exc), err=True)
        sys.exit(2)
    if not reports:
        click.echo(gettext("no signatures"))
        sys.exit(1)
    for n, report in enumerate(reports, 1):
        at = report.signed_at.isoformat() if report.signed_at else "-"
        click.echo(gettext("%(n)s. %(field)s: %(signer)s · intact: %(intact)s · trusted: %(trusted)s"
                           " · signed at %(at)s", n=n, field=report.field, signer=report.signer_name,
                           intact=_yes(report.intact), trusted=_yes(report.valid), at=at))
    sys.exit(0 if all(r.intact and r.valid for r in reports) else 1)
