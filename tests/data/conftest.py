"""Fixtures for the reader tests: the real files of ../shared and small hand-made files."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def chinese_mnist(datasets: Path) -> Path:
    return datasets / "chinese-mnist"


@pytest.fixture(scope="session")
def mnist(datasets: Path) -> Path:
    return datasets / "mnist"
