"""Faults under load, with real signals on real server processes (loopback): SIGKILL and a restart on the same
port, and SIGTERM draining the requests in flight. The drills are benchmarks/serve_faults.py's, which prints
the same figures."""

from __future__ import annotations

import importlib.util
import signal
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CLIENT_TIMEOUT_S = 5.0


@pytest.fixture(scope="module")
def faults():
    spec = importlib.util.spec_from_file_location("serve_faults", REPO / "benchmarks" / "serve_faults.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["serve_faults"] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def doodles_args(served_models) -> list[str]:
    return ["--model", str(next(p for p in served_models if p.stem == "doodles"))]


def test_sigkill_under_load_then_restart_on_the_same_port(faults, start_server, doodles_args, quickdraw):
    """No client waits out its timeout (a killed server's connections fail at once), and a new server binds
    the same port at once, although the killed one's connections still hold it, and answers."""
    srv = start_server(doodles_args)
    body = faults.stroke_body(quickdraw)
    figures = faults.kill_drill(
        srv.proc,
        srv.port,
        body,
        lambda port: start_server(doodles_args, port=port, wait=False).proc,
        clients=6,
        timeout_s=CLIENT_TIMEOUT_S,
    )
    new = figures.pop("new_server")
    print(figures)
    assert figures["in_flight_at_kill"] >= 3, figures  # the slow clients were mid-request
    # each ends at once: a connection error, or its answer if that was already on its way
    assert not any(k.startswith("timeout") for k in figures["in_flight_outcomes"]), figures
    assert figures["timeouts"] == 0, figures
    assert figures["max_client_wait_s"] < CLIENT_TIMEOUT_S, figures
    # the killed server's connections still held the port (a plain bind fails), and yet the new server bound
    # it: uvicorn's listening socket sets SO_REUSEADDR
    assert figures["bind_without_reuseaddr"] == "EADDRINUSE", figures
    assert new.poll() is None, figures
    assert figures["restart_to_first_answer_s"] is not None, figures
    assert figures["outcomes"].get("200", 0) > 10, figures


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_drains_requests_in_flight_and_exits_zero(faults, start_server, doodles_args, quickdraw, workers):
    """In-flight requests (bodies still streaming in) complete with 200; the port refuses new connections
    while they drain; the process (with --workers N, the supervisor and its workers) exits with status 0
    within the graceful timeout."""
    graceful = 8.0
    srv = start_server([*doodles_args, "--graceful-timeout", str(graceful), "--workers", str(workers)])
    figures = faults.term_drill(
        srv.proc, srv.port, faults.stroke_body(quickdraw), clients=6, graceful_timeout_s=graceful
    )
    print(figures)
    assert figures["slow_in_flight_at_sigterm"] >= 3, figures
    assert figures["drained_ok"] == figures["in_flight_at_sigterm"], figures
    assert figures["new_connections_refused"], figures
    if workers == 1:  # one process closes its socket at once; a supervisor keeps the shared one until its
        assert figures["still_draining_when_refused"] >= 1, figures  # workers have drained, then closes it
    assert figures["exit_code"] == 0, figures
    assert figures["exit_after_s"] <= graceful + 3, figures  # + the interpreter's own exit
    assert figures["refused_after_exit"], figures


def test_sigterm_past_the_graceful_timeout_still_exits(faults, start_server, doodles_args, quickdraw):
    """A request slower than the graceful timeout does not keep a stopping server alive."""
    srv = start_server([*doodles_args, "--graceful-timeout", "0.5"])
    load = faults.StrokeLoad(srv.url, faults.stroke_body(quickdraw), clients=2, slow_chunks=20, slow_gap_s=0.2)
    load.start()
    try:
        assert faults.wait_until(lambda: len(load.in_flight(time.monotonic())) >= 2, 30)
        time.sleep(0.3)
        t0 = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        code = srv.proc.wait(30)
        waited = time.monotonic() - t0
    finally:
        load.join()
    assert code == 0 and waited < 0.5 + 3, (code, waited)
