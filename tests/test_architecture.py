"""The house rules that keep the layout readable: layers only look down, imports sit at the top.

Both are checked by their own tools with the configuration in pyproject.toml ([tool.importlinter],
[tool.ruff.lint]); a broken rule fails the suite with the tool's own explanation.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    found = str(path) if path.exists() else shutil.which(name)
    assert found, f"{name} is not installed: pip install -e '.[dev]'"
    return found


def test_layers_only_look_down():
    """import-linter's layers contract: no package imports one above it, siblings stay independent."""
    out = subprocess.run([_tool("lint-imports")], cwd=REPO, capture_output=True, text=True, timeout=300,
                         check=False, env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout


def test_imports_at_the_top_and_code_lints_clean():
    """ruff with the project's rules (PLC0415 with its allow-list of optional extras among them)."""
    out = subprocess.run([_tool("ruff"), "check", "--no-cache", "src", "tests", "benchmarks", "scripts"], cwd=REPO,
                         capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
