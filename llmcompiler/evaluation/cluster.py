"""A benchmark run on a Ray cluster (`run_llm_compiler.py --ray [ADDRESS]`).

The driver keeps what `run_benchmark` keeps on one machine: the store (it alone writes it,
journalled and batched), the progress line, `--logging`'s output and the fatal-error stop.
The questions go to a pool of async worker actors, each of which builds its own suite,
tools, model clients and agent from the same parsed args, with the same code as the driver
(`bench.BenchAgent`), and answers a question with its stored record. At most
`--concurrency` questions are in flight in all; the driver waits on their ObjectRefs with
`asyncio.wait(FIRST_COMPLETED)`, so its event loop never blocks.

The rate limit (`--rpm`, `--tpm`, `--rate_window`) is one `RateLimiter` in an actor of its
own; each worker's models get a `RemoteLimit` with the `ModelLimit` interface that asks it.

A worker whose process dies is replaced, and each question it had in flight is asked once
more; a question whose second worker dies too is stored as an error (so a resume asks it
again). Ctrl-C kills the actors, keeps every finished record and, when the run started a
local cluster, shuts it down.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmcompiler._text import first_line, safe_str
from llmcompiler.evaluation.runner import BenchmarkRun, Progress, error_record, finished
from llmcompiler.evaluation.store import ResultStore
from llmcompiler.exceptions import BenchmarkAborted, ConfigurationError, LLMCompilerError
from llmcompiler.llm.ratelimit import Reservation

__all__ = ["RayBench", "RemoteLimit", "RemoteLimiter", "check_address", "check_ray_options", "connect", "run_with_ray"]

NEEDS_RAY = '--ray needs Ray: pip install "llmcompiler[ray]"'


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigurationError(NEEDS_RAY) from None
    return ray


def check_ray_options(args: argparse.Namespace) -> None:
    """Refuse, before anything runs, what cannot work on workers in other processes."""
    _ray()
    if args.solution_demonstration:
        raise ConfigurationError(
            "--ray cannot be used with --solution_demonstration: the memory is one SQLite file on this machine"
        )
    if args.eval == "human":
        raise ConfigurationError("--ray cannot be used with --eval human: the workers have no terminal")
    if (args.model_type or "").strip().lower() == "scripted":
        raise ConfigurationError("--ray cannot be used with --model_type scripted: one replies file, read in order")


def connect(address: str) -> bool:
    """Join the cluster at `address` (`auto`, HOST:PORT) or start a local one ("local");
    True when this call started it (so the caller shuts it down). Already connected: False."""
    ray = _ray()
    if ray.is_initialized():
        return False
    try:
        if address == "local":
            ray.init(address="local", include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    except ConnectionError as exc:
        raise ConfigurationError(f"--ray {address}: no Ray cluster there ({_first_line(exc)})") from None
    except (ValueError, RuntimeError) as exc:  # a malformed address
        raise ConfigurationError(f"--ray {address}: {_first_line(exc)}") from None
    return address == "local"


async def check_address(address: str, *, timeout: float = 5.0) -> None:
    """Refuse a HOST:PORT nothing listens on: `ray.init` would retry it for minutes."""
    if address in ("local", "auto") or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigurationError(f"--ray {address}: give auto or HOST:PORT (the head node's GCS port, 6379)")
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host.strip("[]"), int(port)), timeout)
    except (OSError, asyncio.TimeoutError) as exc:
        reason = "no answer" if isinstance(exc, asyncio.TimeoutError) else _first_line(exc)
        raise ConfigurationError(f"--ray {address}: no Ray cluster there ({reason})") from None
    writer.close()
    await writer.wait_closed()


def _first_line(exc: BaseException) -> str:
    return first_line(safe_str(exc)) or type(exc).__name__


class RemoteLimit:
    """One model's budget in the limiter actor, with `ModelLimit`'s interface for a worker's models.

    `settle` and `pause` are fire-and-forget for the caller (they are plain calls there) but
    must not be lost: their refs are kept and `flush()` awaits them (after every question
    and when the worker closes)."""

    def __init__(self, actor: Any, name: str, *, rpm: int | None, tpm: int | None, window: float) -> None:
        self._actor = actor
        self._name = name
        self.rpm = rpm
        self.tpm = tpm
        self.window = window
        self._sent: list[Any] = []

    async def acquire(self, tokens: int = 0) -> Reservation:
        key, granted_at, held = await self._actor.acquire.remote(self._name, tokens)
        return _RemoteReservation(granted_at, held, key)

    def settle(self, reservation: Reservation, tokens: int | None) -> None:
        if isinstance(reservation, _RemoteReservation):
            self._sent.append(self._actor.settle.remote(self._name, reservation.key, tokens))

    def pause(self, seconds: float) -> None:
        self._sent.append(self._actor.pause.remote(self._name, seconds))

    async def flush(self) -> None:
        sent, self._sent = self._sent, []
        for ref in sent:
            await ref


@dataclass
class _RemoteReservation(Reservation):
    key: int = 0


class RemoteLimiter:
    """What a worker's `ModelPool` gets as its limiter: `for_model(name)` -> `RemoteLimit`."""

    def __init__(self, actor: Any, *, rpm: int | None, tpm: int | None, window: float) -> None:
        self._actor = actor
        self._limits: dict[str, RemoteLimit] = {}
        self.rpm, self.tpm, self.window = rpm, tpm, window

    def for_model(self, name: str) -> RemoteLimit:
        if name not in self._limits:
            self._limits[name] = RemoteLimit(self._actor, name, rpm=self.rpm, tpm=self.tpm, window=self.window)
        return self._limits[name]

    async def flush(self) -> None:
        for limit in self._limits.values():
            await limit.flush()


class _Limiter:
    """The run's `RateLimiter`, in an async actor; reservations travel as keys (settle finds
    a reservation by identity, which does not survive a trip between processes)."""

    def __init__(self, rpm: int | None, tpm: int | None, window: float) -> None:
        from llmcompiler.llm.ratelimit import RateLimiter

        # twice the local margin (5% of the window, at most 1 s): a grant reaches its worker an
        # actor round trip later, so arrivals at the provider scatter more (benchmarks/batch.py
        # --ray: 15 429s and 87% of the bound with 2.5%, none and 92% with 5%)
        self._limiter = RateLimiter(rpm=rpm, tpm=tpm, window=window, margin=min(0.05 * window, 1.0))
        self._held: dict[int, tuple[str, Reservation]] = {}  # in grant order
        self._next = 0

    async def acquire(self, name: str, tokens: int) -> tuple[int, float, int]:
        limit = self._limiter.for_model(name)
        reservation = await limit.acquire(tokens)
        # a reservation out of the window can no longer be settled: forget it (oldest first)
        edge = reservation.granted_at - self._limiter.window - self._limiter.margin
        while self._held:  # oldest first, and only as far as the window's edge: O(1) a grant, amortised
            key = next(iter(self._held))
            if self._held[key][1].granted_at > edge:
                break
            del self._held[key]
        self._next += 1
        self._held[self._next] = (name, reservation)
        return self._next, reservation.granted_at, reservation.tokens

    async def settle(self, name: str, key: int, tokens: int | None) -> None:
        held = self._held.pop(key, None)
        if held is not None:
            self._limiter.for_model(name).settle(held[1], tokens)

    async def pause(self, name: str, seconds: float) -> None:
        self._limiter.for_model(name).pause(seconds)


class _Worker:
    """One worker actor: its own models, tools and agent, built on first use."""

    def __init__(self, args: argparse.Namespace, configs_dir: Path | None, limiter: Any, slots: int) -> None:
        self._args = args
        self._configs_dir = configs_dir
        self._limiter = (
            None if limiter is None else RemoteLimiter(limiter, rpm=args.rpm, tpm=args.tpm, window=args.rate_window)
        )
        self._slots = slots
        self._setup: Any = None
        self._agent: Any = None
        self._starting: asyncio.Lock | None = None

    def pid(self) -> int:
        return os.getpid()

    async def start(self) -> None:
        from llmcompiler.evaluation.bench import BenchAgent

        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if self._agent is not None:
                return
            setup = BenchAgent(self._args, self._configs_dir, limiter=self._limiter, warn=False)
            try:
                setup.open()
                self._agent = setup.agent(None)  # no memory: check_ray_options refuses it
            except BaseException:
                await setup.aclose()
                raise
            self._setup = setup

    async def answer(self, example: Mapping[str, Any], method: str) -> tuple[dict[str, Any], str | None, str | None]:
        """The question's record, the fatal error's message (None: not fatal), --logging's text."""
        from llmcompiler.evaluation.bench import log_text
        from llmcompiler.evaluation.runner import _fatal, record_for
        from llmcompiler.tools.wikipedia import sized_for

        await self.start()
        args = self._args
        with sized_for(self._slots):  # this worker's share of the run's concurrency
            result = await self._agent.ainvoke(str(example["question"]))
        record = record_for(example, result, method=method, timings=args.do_benchmark)
        stop = _fatal(result)
        if self._limiter is not None:
            await self._limiter.flush()
        if args.sleep_per_iter > 0:
            await asyncio.sleep(args.sleep_per_iter)  # asked for by the user, to respect rate limits
        return (
            record,
            None if stop is None else (stop[0] or "a fatal model error"),
            (log_text(example, result) if args.logging else None),
        )

    async def close(self) -> None:
        if self._limiter is not None:
            await self._limiter.flush()
        if self._setup is not None:
            await self._setup.aclose()


@dataclass
class _Job:
    example: Mapping[str, Any]
    slot: int
    actor: Any
    tries: int


class RayBench:
    """The worker pool of one run; `workers` are the live actor handles (a test kills one)."""

    def __init__(self, args: argparse.Namespace, configs_dir: Path | None, *, workers: int | None = None) -> None:
        ray = _ray()
        self._ray = ray
        self.args = args
        self.configs_dir = configs_dir
        cpus = int(ray.cluster_resources().get("CPU", 1))
        wanted = workers or args.ray_workers or max(1, cpus)
        self.size = max(1, min(wanted, args.concurrency))
        self.slots = math.ceil(args.concurrency / self.size)
        # a CPU each, or a share when there are more workers than CPUs (else some would wait
        # for a CPU forever and the run would never start)
        self.cpus_each = min(1.0, cpus / self.size) if cpus else 0.0
        self.workers: list[Any] = []
        self.limiter: Any = None
        self.replaced = 0
        self._worker_class = ray.remote(_Worker)

    def _new_worker(self) -> Any:
        worker = self._worker_class.options(num_cpus=self.cpus_each, max_concurrency=max(2, self.slots + 1))
        return worker.remote(self.args, self.configs_dir, self.limiter, self.slots)

    async def _start(self) -> None:
        args = self.args
        if args.rpm is not None or args.tpm is not None:
            limiter = self._ray.remote(_Limiter).options(num_cpus=0, max_concurrency=10_000)
            self.limiter = limiter.remote(args.rpm, args.tpm, args.rate_window)
        self.workers = [self._new_worker() for _ in range(self.size)]
        # every worker builds its agent before any question: a bad suite or key stops here
        await _wait_all([w.start.remote() for w in self.workers])

    def kill(self) -> None:
        for actor in [*self.workers, self.limiter]:
            if actor is not None:
                self._ray.kill(actor, no_restart=True)

    async def close(self) -> None:
        """Let the workers close their clients, then end them."""
        try:
            await asyncio.gather(*(w.close.remote().as_future() for w in self.workers), return_exceptions=True)
        finally:
            self.kill()

    async def run(
        self,
        examples: Sequence[Mapping[str, Any]],
        store: ResultStore,
        *,
        method: str,
        progress: Progress | None = None,
        on_log: Callable[[str], Any] | None = None,
    ) -> BenchmarkRun:
        """Answer every example not yet in `store` on the pool (the driver writes the store)."""
        ray_errors = self._ray.exceptions
        todo = [e for e in examples if not finished(store, str(e["id"]))]
        queue = list(reversed(todo))  # popped from the end: in dataset order
        retry: list[_Job] = []
        running: dict[asyncio.Future[Any], _Job] = {}
        load = [0] * self.size
        fatal: list[str] = []
        concurrency = self.args.concurrency

        def submit(example: Mapping[str, Any], tries: int) -> None:
            slot = min(range(self.size), key=load.__getitem__)  # the least busy worker
            actor = self.workers[slot]
            load[slot] += 1
            future = actor.answer.remote(dict(example), method).as_future()  # a future, not a task
            running[future] = _Job(example, slot, actor, tries)

        def worker_died(job: _Job) -> None:
            if self.workers[job.slot] is job.actor:  # the first of its questions to say so
                self._ray.kill(job.actor, no_restart=True)
                self.workers[job.slot] = self._new_worker()
                self.replaced += 1

        async def keep(example: Mapping[str, Any], record: dict[str, Any]) -> None:
            await asyncio.to_thread(store.add, str(example["id"]), record)
            if progress is not None:
                progress.update(record)

        with ExitStack() as io:
            io.enter_context(store.batched(every=max(16, concurrency)))
            try:
                await self._start()
                while queue or retry or running:
                    while not fatal and (retry or queue) and len(running) < concurrency:
                        if retry:
                            job = retry.pop()
                            submit(job.example, job.tries)
                        else:
                            submit(queue.pop(), 1)
                    if not running:
                        break  # a fatal error: nothing more is asked
                    ready, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    for future in ready:
                        job = running.pop(future)
                        load[job.slot] -= 1
                        try:
                            try:
                                record, stop, log = future.result()
                            except ray_errors.RayTaskError as exc:
                                raise _own_error(exc) from None
                        except ray_errors.RayActorError as exc:
                            worker_died(job)
                            if job.tries < 2:
                                retry.append(_Job(job.example, job.slot, None, job.tries + 1))
                            else:
                                died = f"worker died twice: {_first_line(exc)}"
                                await keep(job.example, error_record(job.example, died, method=method))
                            continue
                        await keep(job.example, record)
                        if log is not None and on_log is not None:
                            on_log(log)
                        if stop is not None:
                            fatal.append(stop)
            except BaseException:
                for future in running:
                    future.cancel()
                self.kill()  # Ctrl-C or an error: the questions in flight are not waited for
                raise
            await self.close()
        if fatal:
            raise BenchmarkAborted(fatal[0])
        return BenchmarkRun(ran=len(todo), skipped=len(examples) - len(todo))


async def _wait_all(refs: Sequence[Any]) -> None:
    """Every ref's completion (as asyncio futures, not tasks); the first error raised, see `_own_error`."""
    try:
        await asyncio.gather(*(ref.as_future() for ref in refs))
    except Exception as exc:
        raise _own_error(exc) from None


def _own_error(exc: BaseException) -> BaseException:
    """A worker's own error (its suite, its key) as the error it raised, so that the driver
    prints it as one line like a local run; any other error as it is."""
    import ray

    if isinstance(exc, ray.exceptions.RayTaskError):
        cause = getattr(exc, "cause", None)
        if isinstance(cause, LLMCompilerError):
            return cause
    return exc


async def run_with_ray(
    args: argparse.Namespace,
    configs_dir: Path | None,
    examples: Sequence[Mapping[str, Any]],
    store: ResultStore,
    *,
    method: str,
    progress: Progress | None = None,
    on_log: Callable[[str], Any] | None = None,
) -> BenchmarkRun:
    """`bench`'s --ray path: connect (or start a local cluster), run, and shut down what it started."""
    from llmcompiler.evaluation.bench import wikipedia_url

    worker_args = argparse.Namespace(**vars(args))
    worker_args.wikipedia_url = wikipedia_url(args)  # the driver's environment decides, as locally
    await check_address(args.ray)
    started = connect(args.ray)
    try:
        bench = RayBench(worker_args, configs_dir)
        return await bench.run(examples, store, method=method, progress=progress, on_log=on_log)
    finally:
        if started:
            _ray().shutdown()
