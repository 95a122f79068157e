"""Faults under load on loopback: `inkrec serve` killed (SIGKILL) and restarted on the same port, and stopped
(SIGTERM) while requests are in flight.

Clients send real stroke requests, some with bodies that stream in slowly (a phone on a bad network), each
with a client timeout, and record every request's outcome and wait.

  kill:  SIGKILL while requests are in flight, then a new server on the same port at once. Clients must see
         connection errors, never wait out their timeout; the new server must bind the port although the
         killed one's connections still hold it (SO_REUSEADDR), and answer as soon as it has loaded.
  term:  SIGTERM while slow requests are in flight. They must complete with 200, new connections must be
         refused while they drain, and the process must exit with status 0 within the graceful timeout.

    python benchmarks/serve_faults.py [--clients 6] [--timeout 5] [--model M.onnx ...]

tests/serve/test_faults.py runs the same drills against its own servers and checks the figures.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve_latency import free_port, stop  # the latency benchmark's server helpers

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
SERVE_CMD = [sys.executable, "-c", "from inkrec.cli import app; app()", "serve"]


@dataclass
class Request:
    started: float
    slow: bool
    ended: float | None = None
    outcome: str = ""  # "200", another status, or the transport error's name

    @property
    def wait(self) -> float:
        return (self.ended if self.ended is not None else time.monotonic()) - self.started


@dataclass
class StrokeLoad:
    """Client threads sending stroke requests back to back until stopped.

    Every other client streams its body in `slow_chunks` pieces `slow_gap_s` apart (chunked upload), so that
    requests are in flight for a while; the others send ordinary requests. After a transport error a client
    pauses briefly (as a real client would) instead of spinning.
    """

    url: str
    body: bytes
    clients: int = 6
    timeout_s: float = 5.0
    slow_chunks: int = 6
    slow_gap_s: float = 0.15
    requests: list[Request] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> StrokeLoad:
        for k in range(self.clients):
            t = threading.Thread(target=self._client, args=(k % 2 == 1,), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        """No new requests; the ones in flight finish (or fail) on their own."""
        self._stop.set()

    def join(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(self.timeout_s * 3 + 5)

    def _chunks(self) -> Iterator[bytes]:
        step = -(-len(self.body) // self.slow_chunks)
        for i in range(0, len(self.body), step):
            yield self.body[i : i + step]
            time.sleep(self.slow_gap_s)

    def _client(self, slow: bool) -> None:
        headers = {"content-type": "application/json"}
        with httpx.Client(base_url=self.url, timeout=self.timeout_s) as client:
            while not self._stop.is_set():
                req = Request(time.monotonic(), slow)
                with self._lock:
                    self.requests.append(req)
                try:
                    content = self._chunks() if slow else self.body
                    r = client.post("/v1/predict", content=content, headers=headers)
                    req.outcome = str(r.status_code)
                except httpx.TimeoutException as exc:
                    req.outcome = f"timeout ({type(exc).__name__})"
                except httpx.TransportError as exc:
                    req.outcome = type(exc).__name__
                req.ended = time.monotonic()
                if not req.outcome.isdigit():
                    time.sleep(0.02)

    def in_flight(self, at: float, started_before: float | None = None) -> list[Request]:
        """Requests started before `started_before` (default: `at`) and not finished at `at`."""
        cut = at if started_before is None else started_before
        with self._lock:
            return [r for r in self.requests if r.started <= cut and (r.ended is None or r.ended > at)]

    def first_ok_after(self, t: float) -> float | None:
        with self._lock:
            ends = [r.ended for r in self.requests if r.started >= t and r.outcome == "200" and r.ended]
        return min(ends) if ends else None

    def outcomes(self, requests: list[Request] | None = None) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.requests if requests is None else requests:
            key = r.outcome or "unfinished"
            counts[key] = counts.get(key, 0) + 1
        return dict(sorted(counts.items()))

    def max_wait(self) -> float:
        with self._lock:
            return max((r.wait for r in self.requests), default=0.0)


def sockets_on_port(port: int) -> dict[str, int]:
    """TCP sockets of this machine on local port `port`, by state (from /proc/net/tcp)."""
    names = {"01": "ESTABLISHED", "04": "FIN_WAIT1", "05": "FIN_WAIT2", "06": "TIME_WAIT", "07": "CLOSE",
             "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING"}
    counts: dict[str, int] = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port:
            state = names.get(fields[3], fields[3])
            counts[state] = counts.get(state, 0) + 1
    return counts


def plain_bind(port: int) -> str:
    """Bind the port without SO_REUSEADDR (and let it go at once): "EADDRINUSE" while the connections of a
    killed server still hold it, which a server without SO_REUSEADDR could not restart through."""
    with socket.socket() as s:
        try:
            s.bind((HOST, port))
        except OSError as exc:
            return errno.errorcode.get(exc.errno, str(exc))
    return "ok"


def connection_refused(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True


def wait_until(condition: Callable[[], bool], timeout_s: float, step_s: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step_s)
    return condition()


def kill_drill(
    proc: subprocess.Popen,
    port: int,
    body: bytes,
    spawn: Callable[[int], subprocess.Popen],
    *,
    clients: int = 6,
    timeout_s: float = 5.0,
    restart_within_s: float = 180.0,
) -> dict:
    """SIGKILL `proc` (serving on `port`) under load, then `spawn(port)` a new server at once."""
    load = StrokeLoad(f"http://{HOST}:{port}", body, clients=clients, timeout_s=timeout_s).start()
    idle: socket.socket | None = None
    try:
        # every slow client has a request well into its body
        wait_until(lambda: len(load.in_flight(time.monotonic(), time.monotonic() - 0.3)) >= clients // 2, 30)
        before = load.outcomes()
        # and an idle connection, as a browser keeps one: its server side outlives the kill (FIN_WAIT2)
        idle = socket.create_connection((HOST, port), timeout=timeout_s)
        t_kill = time.monotonic()
        in_flight = load.in_flight(t_kill)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        leftover = sockets_on_port(port)
        held = plain_bind(port)
        t_spawn = time.monotonic()
        new = spawn(port)
        wait_until(lambda: load.first_ok_after(t_spawn) is not None or new.poll() is not None, restart_within_s, 0.05)
        first_ok = load.first_ok_after(t_spawn)
        time.sleep(1.0)  # the new server under the same load for a moment
    finally:
        load.join()
        if idle is not None:
            idle.close()
    return {
        "clients": clients,
        "client_timeout_s": timeout_s,
        "answers_before_kill": before,
        "in_flight_at_kill": len(in_flight),
        "in_flight_outcomes": load.outcomes(in_flight),
        "sockets_on_port_after_kill": leftover,
        "bind_without_reuseaddr": held,
        "new_server_exit_code": new.poll(),
        "restart_to_first_answer_s": None if first_ok is None else round(first_ok - t_spawn, 3),
        "kill_to_first_answer_s": None if first_ok is None else round(first_ok - t_kill, 3),
        "max_client_wait_s": round(load.max_wait(), 3),
        "timeouts": sum(n for k, n in load.outcomes().items() if k.startswith("timeout") or k == "unfinished"),
        "outcomes": load.outcomes(),
        "new_server": new,
    }


def term_drill(proc: subprocess.Popen, port: int, body: bytes, *, clients: int = 6, timeout_s: float = 10.0,
               graceful_timeout_s: float = 10.0) -> dict:
    """SIGTERM `proc` while slow requests are in flight: they drain, new connections are refused."""
    load = StrokeLoad(f"http://{HOST}:{port}", body, clients=clients, timeout_s=timeout_s).start()
    try:
        wait_until(lambda: len(load.in_flight(time.monotonic(), time.monotonic() - 0.3)) >= clients // 2, 30)
        load.stop()  # clients send nothing new, so every request counted below had reached the server
        time.sleep(0.1)
        t_term = time.monotonic()
        in_flight = load.in_flight(t_term)
        proc.send_signal(signal.SIGTERM)
        # the listening socket closes at once, while the slow requests are still streaming
        refused = wait_until(lambda: connection_refused(port), 2.0, 0.05)
        t_refused = time.monotonic()
        still_draining = len(load.in_flight(t_refused))
        try:
            code = proc.wait(graceful_timeout_s + 30)
        except subprocess.TimeoutExpired:
            code = None
        t_exit = time.monotonic()
        refused_after_exit = connection_refused(port)
    finally:
        load.join()
    return {
        "clients": clients,
        "in_flight_at_sigterm": len(in_flight),
        "slow_in_flight_at_sigterm": sum(r.slow for r in in_flight),
        "drained_outcomes": load.outcomes(in_flight),
        "drained_ok": sum(r.outcome == "200" for r in in_flight),
        "new_connections_refused": refused,
        "refused_after_s": round(t_refused - t_term, 3),
        "still_draining_when_refused": still_draining,
        "exit_code": code,
        "exit_after_s": round(t_exit - t_term, 3),
        "graceful_timeout_s": graceful_timeout_s,
        "refused_after_exit": refused_after_exit,
        "max_client_wait_s": round(load.max_wait(), 3),
    }


def stroke_body(quickdraw: Path, model_id: str = "doodles") -> bytes:
    """A real drawing from the test split (simplified strokes), as the page would send it."""
    with open(quickdraw / "simplified" / "cat.ndjson", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i == 20:
                return json.dumps({"model": model_id, "strokes": json.loads(line)["drawing"]}).encode()
    raise SystemExit(f"no test drawing in {quickdraw / 'simplified' / 'cat.ndjson'}")


def spawn_inkrec(models: list[str], port: int, *options: str, log: Path | None = None) -> subprocess.Popen:
    """`inkrec serve` on `port`, not waiting for it to come up."""
    cmd = [*SERVE_CMD, "--host", HOST, "--port", str(port), *options]
    for m in models:
        cmd += ["--model", m]
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - the child holds it
    return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)


def wait_healthy(port: int, proc: subprocess.Popen, timeout_s: float = 180) -> float:
    t0 = time.monotonic()

    def up() -> bool:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            return httpx.get(f"http://{HOST}:{port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    if not wait_until(up, timeout_s, 0.1):
        raise SystemExit(f"server on port {port} did not come up in {timeout_s:.0f} s")
    return time.monotonic() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--timeout", type=float, default=5.0, help="client timeout, seconds")
    ap.add_argument("--model", action="append", help="models to serve (default: models/doodles.onnx)")
    ap.add_argument("--out", type=Path, default=REPO / "bench-results" / "serve_faults.json")
    args = ap.parse_args()
    models = args.model or [str(REPO / "models" / "doodles.onnx")]
    datasets = Path(os.environ.get("INKREC_DATASETS", REPO.parent / "shared" / "datasets"))
    body = stroke_body(datasets / "quickdraw")
    log = REPO / "bench-results" / "serve_faults.log"
    log.parent.mkdir(parents=True, exist_ok=True)

    port = free_port()
    first = spawn_inkrec(models, port, log=log)
    startup = wait_healthy(port, first)
    print(f"kill drill: {args.clients} clients (half with slow bodies), client timeout {args.timeout:g} s; "
          f"first start took {startup:.1f} s", flush=True)
    kill = kill_drill(first, port, body, lambda p: spawn_inkrec(models, p, log=log), clients=args.clients,
                      timeout_s=args.timeout)
    second = kill.pop("new_server")
    print("term drill: SIGTERM while slow requests are in flight", flush=True)
    term = term_drill(second, port, body, clients=args.clients)
    stop(second)

    rows = [
        ("requests in flight at the SIGKILL", kill["in_flight_at_kill"]),
        ("  their outcomes", kill["in_flight_outcomes"]),
        ("sockets left on the port after the kill", kill["sockets_on_port_after_kill"]),
        ("  a bind without SO_REUSEADDR then", kill["bind_without_reuseaddr"]),
        ("max client wait (s)", kill["max_client_wait_s"]),
        ("client timeouts (hangs)", kill["timeouts"]),
        ("restart -> first answer (s)", kill["restart_to_first_answer_s"]),
        ("kill -> first answer (s)", kill["kill_to_first_answer_s"]),
        ("all outcomes", kill["outcomes"]),
        ("requests in flight at the SIGTERM", term["in_flight_at_sigterm"]),
        ("  drained with 200", term["drained_ok"]),
        ("  their outcomes", term["drained_outcomes"]),
        ("new connections refused after (s)", term["refused_after_s"]),
        ("  requests still draining then", term["still_draining_when_refused"]),
        ("exit code", term["exit_code"]),
        ("exit after SIGTERM (s)", term["exit_after_s"]),
    ]
    print()
    for name, value in rows:
        print(f"  {name:42} {value}")
    args.out.write_text(json.dumps({"kill": kill, "term": term}, indent=2))
    print(f"\nresults: {args.out}")
    ok = (
        kill["timeouts"] == 0
        and kill["restart_to_first_answer_s"] is not None
        and term["drained_ok"] == term["in_flight_at_sigterm"]
        and term["exit_code"] == 0
        and term["new_connections_refused"]
    )
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
