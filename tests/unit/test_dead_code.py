"""No dead code in app/ and handlers/ that vulture is sure of: unused arguments and variables,
unreachable code (pyproject.toml's [tool.vulture] sets the paths, the confidence and the few
parameter names a framework passes)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_vulture(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vulture", *args], cwd=ROOT, capture_output=True, text=True,
                          check=False)


def test_vulture_finds_nothing_in_app_and_handlers() -> None:
    result = run_vulture()
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_check_reports_dead_code(tmp_path: Path) -> None:
    (tmp_path / "dead.py").write_text("def f(x: int) -> int:\n    return 1\n    print('never')\n", encoding="utf-8")
    result = run_vulture(str(tmp_path))
    assert result.returncode == 3, result.stdout + result.stderr
    assert "unreachable code after 'return'" in result.stdout and "unused variable 'x'" in result.stdout
