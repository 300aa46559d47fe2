"""Many inputs at once: discovery, a process pool, a progress bar, and failure isolation.

One input's problem is that input's ERROR verdict, never the batch's crash: the engine already turns
bad input and rule bugs into ERROR; here a per-input timeout (SIGALRM inside the worker) and a worker
process that dies (killed for memory, a crash in native code) are turned into ERROR too. When a worker
dies the pool cannot say which input killed it, so the inputs it left unfinished are re-run one per
fresh single-worker pool, where a second crash is attributable. The pool is kept for the process's
next batch (PR and leaderboard modes call ``run_batch`` more than once; workers keep their caches).
"""

from __future__ import annotations

import atexit
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from auditor.engine import MAIN_SCRIPT, AuditOptions, audit, is_record_folder
from auditor.findings import InputResult

#: seconds one input may take (static, package and dynamic stages together)
DEFAULT_TIMEOUT = 600.0
SKIPPED_DIRS = {"__pycache__", "node_modules"}


class UsageError(Exception):
    """The command line names something that cannot be audited at all (exit 2)."""


class InputTimeout(BaseException):
    """Raised by the alarm; a BaseException so the engine's own error handling does not swallow it."""


def discover(paths: Sequence[Path]) -> list[Path]:
    """The inputs named by ``paths``: files as given; a folder holding ``train_gpt.py`` as one record
    folder; any other folder searched for record folders and for loose ``*.py`` files outside them."""
    found: list[Path] = []
    empty: list[Path] = []
    for path in paths:
        if not path.exists():
            raise UsageError(f"{path}: no such file or directory")
        if path.is_file() or is_record_folder(path):
            found.append(path)
            continue
        before = len(found)
        for folder, dirs, files in os.walk(path):
            here = Path(folder)
            if is_record_folder(here):  # whatever its main script is called
                found.append(here)
                dirs.clear()
                continue
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
            found.extend(here / f for f in sorted(files) if f.endswith(".py"))
        if len(found) == before:
            empty.append(path)
    if empty and not found:
        raise UsageError(f"{empty[0]}: no Python files or record folders (with {MAIN_SCRIPT}) found")
    # beside other inputs, a folder with nothing to audit is an input of its own (its ERROR says why),
    # so one such folder does not stop a whole batch
    found += empty
    unique: dict[str, Path] = {}
    for p in found:
        unique.setdefault(os.path.realpath(p), p)
    return list(unique.values())


@contextmanager
def _alarm(seconds: float | None) -> Iterator[None]:
    if seconds is None or seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def fire(signum: int, frame: object) -> None:
        raise InputTimeout

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def audit_one(path: Path, options: AuditOptions, timeout: float | None = DEFAULT_TIMEOUT) -> InputResult:
    """:func:`auditor.engine.audit` under a time limit; the worker function of the pool."""
    try:
        with _alarm(timeout):
            return audit(path, options)
    except InputTimeout:
        return InputResult(path=str(path), sha256=None, error=f"timed out after {timeout:g} s")


def _crashed(path: Path) -> InputResult:
    return InputResult(
        path=str(path), sha256=None, error="the worker process died while auditing this input (killed for memory?)"
    )


def _warm_up() -> None:
    """Import the rule catalog once in the parent, so forked workers start with it loaded."""
    from auditor import registry

    registry.catalog()


def run_batch(
    paths: Sequence[Path],
    options: AuditOptions,
    jobs: int | None = None,
    progress: bool = False,
    timeout: float | None = DEFAULT_TIMEOUT,
    console: Console | None = None,
) -> list[InputResult]:
    """Audit every path (in parallel when ``jobs`` > 1); results come back in input order."""
    jobs = max(1, jobs or os.cpu_count() or 1)
    results: dict[int, InputResult] = {}
    with _progress_bar(len(paths), progress, console) as advance:
        if jobs == 1 or len(paths) == 1:
            for i, path in enumerate(paths):
                results[i] = audit_one(path, options, timeout)
                advance(results[i])
        else:
            _warm_up()
            unfinished = _pool_run(dict(enumerate(paths)), options, min(jobs, len(paths)), timeout, results, advance)
            for i in unfinished:  # a worker died: retry alone so a second death names its input
                left = _pool_run({i: paths[i]}, options, 1, timeout, results, advance)
                if left:
                    results[i] = _crashed(paths[i])
                    advance(results[i])
    return [results[i] for i in range(len(paths))]


#: the worker pool kept between ``run_batch`` calls of one process (workers keep their imports and
#: caches), per worker count and per state of the rule catalog the workers were forked with
_shared: dict[tuple[int, tuple], ProcessPoolExecutor] = {}


def _catalog_state() -> tuple:
    """What forked workers inherit and must match: the rules and their check functions (a caller, such
    as a test, that swaps them gets a fresh pool)."""
    from auditor import registry

    return tuple((r.code, id(r.check)) for r in registry.all_rules())


def _pool(workers: int) -> ProcessPoolExecutor:
    key = (workers, _catalog_state())
    pool = _shared.get(key)
    if pool is None:
        for stale in [k for k in _shared if k[0] == workers]:
            _discard(stale)
        pool = _shared[key] = ProcessPoolExecutor(max_workers=workers)
    return pool


def _discard(key: tuple[int, tuple] | int) -> None:
    for k in [k for k in _shared if k == key or k[0] == key]:
        _shared.pop(k).shutdown(wait=False, cancel_futures=True)


@atexit.register
def _close_pools() -> None:
    for workers in list(_shared):
        _discard(workers)


def _size(path: Path) -> int:
    try:
        return (path / MAIN_SCRIPT if path.is_dir() else path).stat().st_size
    except OSError:
        return 0


def _pool_run(
    todo: dict[int, Path],
    options: AuditOptions,
    workers: int,
    timeout: float | None,
    results: dict[int, InputResult],
    advance: Callable[[InputResult], None],
) -> list[int]:
    """Run ``todo`` on the shared pool of ``workers`` processes; return the indices left unfinished
    because a worker died (the broken pool is dropped, the next call starts a fresh one)."""
    broken: list[int] = []
    pool = _pool(workers)
    # biggest scripts first, so the last inputs of a batch are short ones and no worker idles long at the end
    order = sorted(todo.items(), key=lambda item: -_size(item[1]))
    try:
        futures: dict[Future[InputResult], int] = {pool.submit(audit_one, p, options, timeout): i for i, p in order}
    except BrokenProcessPool:  # a worker of the previous call died after it finished
        _discard(workers)
        pool = _pool(workers)
        futures = {pool.submit(audit_one, p, options, timeout): i for i, p in order}
    for future in as_completed(futures):
        i = futures[future]
        try:
            results[i] = future.result()
        except BrokenProcessPool:
            broken.append(i)
            continue
        except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable result: this input's ERROR
            results[i] = InputResult(path=str(todo[i]), sha256=None, error=f"internal error: {type(exc).__name__}: {exc}")
        advance(results[i])
    if broken:
        _discard(workers)
    return sorted(broken)


@contextmanager
def _progress_bar(total: int, enabled: bool, console: Console | None) -> Iterator[Callable[[InputResult], None]]:
    if not enabled:
        yield lambda result: None
        return
    bar = Progress(
        SpinnerColumn(),
        TextColumn("[bold]auditing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}", style="dim"),
        console=console or Console(stderr=True),
        transient=False,
    )
    with bar:
        task = bar.add_task("", total=total)

        def advance(result: InputResult) -> None:
            bar.update(task, advance=1, description=f"{Path(result.path).name}: {result.verdict.value}")

        yield advance
