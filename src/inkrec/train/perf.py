"""Making training fast on whatever machine it runs on: threads, memory format, precision, compilation.

Measured on a 2-core Sapphire Rapids CPU (`benchmarks/train_speed.py`, seed CNN, batch 256): small CNNs
are bound by per-op overhead and memory traffic rather than arithmetic. Channels-last tensors plus
bfloat16 autocast (native on AMX / AVX-512 BF16 CPUs) train the seed CNN at 3.3x the samples/s of a
plain float32 DataLoader loop and 1.8x the course's Keras `fit()`; torch.compile works here but was
slower than that eager combination, so it is opt-in (`compile="on"`; "auto" compiles on CUDA only).
Threads: all of this process's cores by default. A fixed thread count also keeps runs bit-repeatable
(reduction order depends on it), which is why it is never changed automatically mid-run.
"""

from __future__ import annotations

import contextlib
import copy
import os
import warnings

import torch

from inkrec.errors import ConfigError


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def configure_threads(requested: int | None, processes_per_machine: int = 1) -> int:
    """Set torch's intra-op threads: the request, or this process's share of the cores."""
    n = requested or max(1, available_cores() // max(1, processes_per_machine))
    torch.set_num_threads(n)
    with contextlib.suppress(RuntimeError):  # only settable before the first parallel region
        torch.set_num_interop_threads(1)
    return n


def cpu_bf16_supported() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # pragma: no cover - builds without oneDNN
        return False


def cpu_has_native_bf16() -> bool:
    """True on CPUs with bfloat16 arithmetic units (Intel AMX or AVX-512 BF16); elsewhere oneDNN emulates
    bfloat16, which is slower than float32."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"amx_bf16", "avx512_bf16"}) and cpu_bf16_supported()
    except OSError:
        pass
    return False


def autocast_dtype(device: torch.device, amp: bool | str) -> torch.dtype | None:
    """The mixed-precision dtype for this device, or None for full float32.

    "auto" turns mixed precision on where it is fast: on CUDA, and on CPUs with native bfloat16 units
    (measured on such a CPU: 2-2.5x the float32 samples/s for the seed CNN at equal accuracy).
    """
    if amp is False:
        return None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if amp == "auto":
        return torch.bfloat16 if cpu_has_native_bf16() else None
    if cpu_bf16_supported():
        return torch.bfloat16
    warnings.warn("--amp: this CPU has no bfloat16 support; training in float32", stacklevel=2)
    return None


def autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def grad_scaler(device: torch.device, dtype: torch.dtype | None):
    """A GradScaler for float16 on CUDA (bfloat16 needs none)."""
    enabled = device.type == "cuda" and dtype == torch.float16
    return torch.amp.GradScaler("cuda", enabled=enabled)


def compile_model(model: torch.nn.Module, mode: str, example: tuple, device: torch.device,
                  dtype: torch.dtype | None):
    """`torch.compile(model)` if asked for and it works here, else the model itself.

    A trial forward/backward on `example` runs the compiler now, so a machine without a working
    compiler toolchain falls back to eager mode at once with a warning instead of failing mid-epoch.
    The trial leaves the model's weights, buffers and gradients as they were.
    """
    if mode == "off":
        return model, False
    if mode == "auto" and device.type != "cuda":
        return model, False
    snapshot = copy.deepcopy(model.state_dict())
    try:
        compiled = torch.compile(model)
        with autocast(device, dtype):
            out = compiled(*example)
        out.float().sum().backward()
    except Exception as exc:  # noqa: BLE001 - any compiler failure means: run eagerly
        if mode == "on":
            warnings.warn(f"torch.compile does not work here ({type(exc).__name__}: {str(exc)[:200]}); "
                          "training in eager mode", stacklevel=2)
        model.load_state_dict(snapshot)
        model.zero_grad(set_to_none=True)
        return model, False
    model.load_state_dict(snapshot)
    model.zero_grad(set_to_none=True)
    return compiled, True


def check_device_request(device: str) -> None:
    if device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"--device must be auto, cpu or cuda, not {device!r}")
