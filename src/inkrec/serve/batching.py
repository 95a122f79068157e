"""Opportunistic batching of drawings per model: free at low load, a large saving under load.

A drawing page asks for a guess on every stroke, so a busy server sees many tiny requests at once. Run
one at a time, each pays the fixed costs of a rasterizer call and a model call; run together, those are
paid once per batch (a batch of 8 drawings costs far less than 8 single runs on a CPU). The batcher
never waits to fill a batch: a request that finds the model idle is run at once, alone; requests that
arrive while a batch is being computed are queued and run together as the next batch. So an idle server
answers as fast as without batching, and a loaded one does more work per CPU second.

By default a batch runs on the event loop's own thread, right after the loop has read every request that
was ready (see `ServeSettings.inline_batches` for why); given a thread pool instead, it runs there while the
loop goes on reading, parsing and answering requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor


class Batcher:
    """Queue of drawings for one model; `run(list_of_items) -> list_of_results` does the work."""

    def __init__(self, run: Callable[[list], list], pool: Executor | None, max_batch: int = 32):
        """`pool=None` runs batches on the event loop's own thread (no thread hand-over: best when each
        core has its own server process); otherwise on `pool`, while the loop goes on serving."""
        self._run = run
        self._pool = pool
        self._max = max_batch
        self._pending: list[tuple[object, asyncio.Future]] = []
        self._busy = False

    async def submit(self, item) -> object:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append((item, future))
        if not self._busy:
            self._busy = True
            if self._pool is None:
                # after the callbacks already ready: every request read in this turn joins the batch
                loop.call_soon(self._drain_inline)
            else:
                loop.create_task(self._drain(loop))
        return await future

    def _drain_inline(self) -> None:
        try:
            batch, self._pending = self._pending[: self._max], self._pending[self._max :]
            live = [(item, fut) for item, fut in batch if not fut.done()]
            if live:
                failed: Exception | None = None
                try:
                    results = self._run([item for item, _ in live])
                except Exception as exc:  # noqa: BLE001 - handed to each waiting request
                    failed, results = exc, [None] * len(live)
                for (_, fut), result in zip(live, results, strict=True):
                    if not fut.done():
                        if failed is not None:
                            fut.set_exception(failed)
                        else:
                            fut.set_result(result)
        finally:
            if self._pending:
                asyncio.get_running_loop().call_soon(self._drain_inline)
            else:
                self._busy = False

    async def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[: self._max], self._pending[self._max :]
                live = [(item, fut) for item, fut in batch if not fut.done()]  # skip cancelled requests
                if not live:
                    continue
                try:
                    results = await loop.run_in_executor(self._pool, self._run, [item for item, _ in live])
                except Exception as exc:  # noqa: BLE001 - handed to each waiting request
                    for _, fut in live:
                        if not fut.done():
                            fut.set_exception(exc)
                    continue
                for (_, fut), result in zip(live, results, strict=True):
                    if not fut.done():
                        fut.set_result(result)
        finally:
            self._busy = False
