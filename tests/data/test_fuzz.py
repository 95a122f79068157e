"""Every reader, fuzzed for a few seconds with mutants of real files (benchmarks/fuzz_readers.py): a corrupt
file must give an InkrecError, never another exception, a hang or an allocation a header asked for."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("fuzz_readers", REPO / "benchmarks" / "fuzz_readers.py")
fuzz_readers = importlib.util.module_from_spec(_spec)
sys.modules["fuzz_readers"] = fuzz_readers
_spec.loader.exec_module(fuzz_readers)


@pytest.mark.parametrize("reader", sorted(fuzz_readers.READERS))
def test_reader_survives_its_fuzz(reader: str, datasets: Path, tmp_path: Path):
    result = fuzz_readers.fuzz(fuzz_readers.READERS[reader], 3.0, seed=7, crashes=tmp_path / "crashes")
    assert result.cases > 20
    assert result.refused > 0  # the mutants do reach the readers' checks
    assert not result.crashes, result.crashes


def test_every_format_of_the_registry_is_fuzzed():
    assert fuzz_readers.uncovered() == []
