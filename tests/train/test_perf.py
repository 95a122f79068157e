"""Speed machinery: torch.compile with its trial step, mixed-precision choice, thread setting."""

from __future__ import annotations

import pytest
import torch

from inkrec.models import create_model
from inkrec.train import perf


@pytest.mark.slow
def test_compile_works_here_and_its_trial_step_leaves_the_model_untouched():
    torch.manual_seed(0)
    model = create_model("inknet", 5, width=8, blocks=(0, 1))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    example = (torch.rand(4, 1, 28, 28),)
    compiled, ok = perf.compile_model(model, "on", example, torch.device("cpu"), None)
    assert ok, "torch.compile should work on this machine"
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # batch-norm statistics too
    assert all(p.grad is None for p in model.parameters())
    with torch.no_grad():
        model.eval()
        x = torch.rand(4, 1, 28, 28)
        assert torch.allclose(compiled(x), model(x), atol=1e-5)


def test_compile_off_and_auto_on_cpu_return_the_model_itself():
    model = create_model("logreg", 3)
    for mode in ("off", "auto"):
        m, ok = perf.compile_model(model, mode, (torch.rand(2, 1, 28, 28),), torch.device("cpu"), None)
        assert m is model and not ok


def test_mixed_precision_choice():
    cpu = torch.device("cpu")
    assert perf.autocast_dtype(cpu, False) is None
    auto = perf.autocast_dtype(cpu, "auto")
    assert auto == (torch.bfloat16 if perf.cpu_has_native_bf16() else None)
    if perf.cpu_bf16_supported():
        assert perf.autocast_dtype(cpu, True) == torch.bfloat16


def test_threads_default_to_this_process_share_of_the_cores():
    old = torch.get_num_threads()
    try:
        assert perf.configure_threads(None, 1) == perf.available_cores()
        assert perf.configure_threads(None, perf.available_cores() * 4) == 1
        assert perf.configure_threads(3) == 3 and torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(old)
