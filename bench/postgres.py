"""A throwaway PostgreSQL cluster for the benches that need one (`.ci/start-postgres`), or the URL given."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class Cluster:
    """`with Cluster(url_or_None, "inbox") as url:` — the SQLAlchemy URL of the given database, or of a
    cluster started in a temporary folder and removed afterwards."""

    def __init__(self, url: str | None, name: str = "bench") -> None:
        self.url, self.name, self.dir = url, name, None

    def __enter__(self) -> str:
        if self.url is None:
            self.dir = tempfile.mkdtemp(prefix=f"loanflow-bench-{self.name}-")
            os.chmod(self.dir, 0o755)  # as root, the cluster runs as `postgres`, which must reach its folder
            out = subprocess.run([str(ROOT / ".ci" / "start-postgres"), f"{self.dir}/pg"], check=True,
                                 capture_output=True, text=True)
            self.url = out.stdout.strip().splitlines()[-1]
        url = self.url
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return url

    def __exit__(self, *exc: object) -> None:
        if self.dir:
            subprocess.run([str(ROOT / ".ci" / "stop-postgres"), f"{self.dir}/pg"], check=False)
            shutil.rmtree(self.dir, ignore_errors=True)
