"""Shared test fixtures: where the real data lives; `datakit` (small hand-made files) beside this file."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from inkrec import fonts

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests import datakit as a plain module


def _datasets_dir() -> Path:
    env = os.environ.get("INKREC_DATASETS")
    return Path(env) if env else REPO.parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def datasets() -> Path:
    """The real data sets (`../shared/datasets`). Missing data is an error, never a silent skip."""
    path = _datasets_dir()
    if not (path / "README.md").is_file():
        pytest.fail(f"real data sets not found at {path}; set INKREC_DATASETS")
    return path


@pytest.fixture(scope="session")
def quickdraw(datasets: Path) -> Path:
    return datasets / "quickdraw"


@pytest.fixture(scope="session")
def chinese_mnist(datasets: Path) -> Path:
    return datasets / "chinese-mnist"


@pytest.fixture(scope="session")
def mnist(datasets: Path) -> Path:
    return datasets / "mnist"


@pytest.fixture
def no_system_fonts(monkeypatch):
    """A machine without any font installed: only the font shipped with inkrec is found."""
    monkeypatch.delenv("INKREC_FONT", raising=False)
    monkeypatch.setattr(fonts, "LATIN_FONTS", ())
    monkeypatch.setattr(fonts, "KNOWN_FONTS", ())
    monkeypatch.setattr(fonts, "fontconfig_fonts", lambda chars: [])
