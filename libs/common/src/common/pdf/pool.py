"""The PDF worker processes: rendering, signing and verification run here, never in a web process.

A web process imports this module, :mod:`common.pdf.model` and :mod:`common.pdf.results` only; the
workers import WeasyPrint and pyHanko (:mod:`common.pdf.render`, :mod:`common.pdf.signing`,
:mod:`common.pdf.verify`), so the web process stays lean (see ``docs/benchmarks.md``: idle RSS).

The pool is one module-wide ``ProcessPoolExecutor`` of spawned processes, sized to the container
(:func:`common.container.pdf_pool_size`) unless :func:`configure_default_executor` says otherwise.
:func:`start_workers` starts every process at once and each one warms up before its first job:
modules, fonts, stylesheet and templates loaded, then the warm-up the service configured
(:data:`WarmUp`; directive-api's renders, signs, seals and verifies a throw-away document with its
keys). A web process calls it at
start-up without waiting for it: it is ready at once, and the first approval finds warm workers.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import importlib
import logging
import multiprocessing
import multiprocessing.connection
import multiprocessing.context
import multiprocessing.process
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar, cast

from common.container import pdf_pool_size

if TYPE_CHECKING:
    from common.pdf.model import DocumentView
    from common.pdf.results import RenderedPdf

__all__ = [
    "WORKER_NICENESS",
    "WarmUp",
    "configure_default_executor",
    "default_executor",
    "render_page_async",
    "render_pdf_async",
    "run",
    "shutdown_render_executor",
    "start_workers",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

WarmUp = Callable[[], object]
"""A picklable callable (a module-level function, or a ``functools.partial`` of one) that a worker
runs once at its start, after the rendering warm-up; its failure is logged, never fatal."""

WORKER_NICENESS = 10
"""How much lower the CPU priority of the PDF worker processes is than the server's (``os.nice``).

Rendering, signing and verifying are batch work of a few hundred milliseconds; requests served by
the event loop are interactive. With the workers niced, the kernel gives the server the CPU first
when both want it, so reads stay fast while documents are being issued, and the workers still get
every idle cycle."""


def _exit_with_parent() -> None:
    """End this worker when the process that owns the pool dies, however it died.

    A pool shut down cleanly stops its workers, but after a SIGKILL (OOM killer, a supervisor's
    timeout) the workers would wait on the call queue for ever: each holds the queue's write end.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


class _SpawnProcessIgnoringCtrlC(multiprocessing.context.SpawnProcess):
    """A worker started with SIGINT blocked (the mask is inherited through exec), until
    :func:`_worker_init` ignores it: Ctrl-C reaches the terminal's whole process group, and the
    parent shuts its pool down; a worker that took the KeyboardInterrupt, even while still
    importing, only printed a traceback."""

    def start(self) -> None:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            super().start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class _SpawnContextIgnoringCtrlC(multiprocessing.context.SpawnContext):
    Process = _SpawnProcessIgnoringCtrlC


def _worker_init(warm_up: WarmUp | None, warm: multiprocessing.connection.Connection | None = None) -> None:
    """Initializer of each worker process: priority, logging, the PDF stack loaded and warmed; then
    its pid sent on ``warm`` (the pool's shutdown stops a worker that has not sent it at once)."""
    started = time.perf_counter()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C still pending is discarded here
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    _exit_with_parent()
    os.nice(WORKER_NICENESS)
    # A worker has no log handler of its own: WeasyPrint's notes on skipped CSS would reach
    # stderr as plain text through logging's last resort, outside the JSON log.
    for name in ("weasyprint", "fontTools"):
        logging.getLogger(name).setLevel(logging.ERROR)
    render = importlib.import_module("common.pdf.render")
    # The workers also sign and verify: load those modules (pyHanko, its validator) now, not in the
    # first job, so that they are frozen with the rest below.
    for module in ("common.pdf.signing", "common.pdf.verify"):
        importlib.import_module(module)
    render.warm_resources()
    if warm_up is not None:
        # Typically a throw-away document rendered, signed, sealed and verified (fonts through
        # fontconfig and HarfBuzz, WeasyPrint's and pyHanko's lazily built tables, the keys): the
        # first document of a process costs several times a later one.
        try:
            warm_up()
        except Exception:  # a warm-up is an optimisation: the real job will report the real error
            logger.warning("PDF worker warm-up failed", exc_info=True)
    # Fonts, stylesheets, templates and modules stay for the worker's life: keep them out of the
    # collector's full passes, which otherwise re-scan them during every few documents.
    gc.collect()
    gc.freeze()
    if warm is not None:
        warm.send(os.getpid())  # one write of a few bytes: atomic among the workers sharing the pipe
        warm.close()
    logger.debug("PDF worker %d warm in %.2f s", os.getpid(), time.perf_counter() - started)


class _PdfPool(ProcessPoolExecutor):
    """The pool, knowing which of its processes have finished their warm-up (each sends its pid on a
    pipe when it has), so that its shutdown does not wait for a warm-up.

    A warm-up takes seconds (and far longer on a loaded host): a pool shut down while a worker is
    still warming up would wait for it to finish and then run the jobs queued behind it, so a
    service stopped right after its start overran its stop timeout (``run_local``'s 10 s) and was
    killed. At shutdown the service has drained its requests and stopped its background work: no
    caller waits for a job any more.
    """

    def __init__(self, workers: int, warm_up: WarmUp | None) -> None:
        context = _SpawnContextIgnoringCtrlC()
        self._warm_reader, warm_writer = context.Pipe(duplex=False)
        self._warm_pids: set[int] = set()
        super().__init__(
            max_workers=workers, mp_context=context, initializer=_worker_init, initargs=(warm_up, warm_writer)
        )
        self._warm_writer = warm_writer  # kept open while processes may still be started

    def warming(self) -> list[multiprocessing.process.BaseProcess]:
        """The processes of the pool still starting or warming up."""
        while self._warm_reader.poll():
            self._warm_pids.add(self._warm_reader.recv())
        processes = dict(self._processes or {})  # the executor's own table (pid -> process)
        return [process for pid, process in processes.items() if pid not in self._warm_pids]

    def stop(self) -> None:
        """Shut down: queued jobs cancelled, warm workers leave after their current job, workers
        still warming up are stopped (SIGTERM) rather than waited for."""
        warming = self.warming()
        # What shutdown(wait=False) lets go of and shutdown(wait=True) would join (this Python's
        # executor has no public way to stop some of its workers).
        manager = cast("threading.Thread | None", self._executor_manager_thread)  # typeshed mistypes it
        results = self._result_queue
        self.shutdown(wait=False, cancel_futures=True)
        for process in warming:
            process.terminate()
        if warming:
            # The executor takes a stopped worker for a broken pool: it fails the jobs left in the
            # call queue (the warm-up's no-op jobs) and stops the other workers too.
            logger.info("PDF workers stopped during their warm-up: %s", sorted(p.pid or 0 for p in warming))
        if manager is not None:
            manager.join()  # every worker has exited and the queues are closed
        if results is not None:
            results.close()
        self.close_warm_pipe()

    def close_warm_pipe(self) -> None:
        """Close both ends of the pipe the workers report on (once the pool is shut down)."""
        self._warm_writer.close()
        self._warm_reader.close()


class _DefaultExecutor:
    _lock = threading.Lock()
    _executor: _PdfPool | None = None
    _executor_size = 0
    _workers: int | None = None
    _warm_up: WarmUp | None = None

    @classmethod
    def size(cls) -> int:
        return cls._workers or pdf_pool_size()  # the container's CPU quota and memory limit

    @classmethod
    def get(cls) -> _PdfPool:
        with cls._lock:
            if cls._executor is None:
                cls._executor_size = cls.size()
                cls._executor = _PdfPool(cls._executor_size, cls._warm_up)
            return cls._executor

    @classmethod
    def configure(cls, workers: int | None, warm_up: WarmUp | None) -> int:
        if workers is not None and workers < 1:
            raise ValueError(f"a PDF worker pool needs at least one process, not {workers}")
        with cls._lock:
            cls._workers = workers
            if warm_up is not None:
                cls._warm_up = warm_up
            previous = cls._executor if cls._executor_size != cls.size() else None
            if previous is not None:
                cls._executor = None
        if previous is not None:
            previous.shutdown(wait=True)
            previous.close_warm_pipe()
        return cls.size()

    @classmethod
    def shutdown(cls) -> None:
        with cls._lock:
            if cls._executor is not None:
                cls._executor.stop()
                cls._executor = None


def default_executor() -> ProcessPoolExecutor:
    """The module-wide pool of PDF worker processes (one per usable core, within the memory limit, unless
    :func:`configure_default_executor` said otherwise), for any CPU-heavy PDF step."""
    return _DefaultExecutor.get()


def configure_default_executor(workers: int | None, *, warm_up: WarmUp | None = None) -> int:
    """Set the number of processes of :func:`default_executor` (``None``: sized to the container).

    A pool already started with another number is shut down (after its jobs) and the next call of
    :func:`default_executor` starts one of the new size.

    Args:
        workers: The number of processes, or None.
        warm_up: What each process runs once at its start, after the rendering warm-up (see
            :data:`WarmUp`); it applies to processes started from now on. None keeps the one set.

    Returns:
        The number of processes the pool has from now on.

    Raises:
        ValueError: ``workers`` is below 1.
    """
    return _DefaultExecutor.configure(workers, warm_up)


def start_workers() -> list[Future[object]]:
    """Start every process of the pool now (each warms up before its first job); do not wait for them.

    Each submission starts one more process while none is idle, so one no-op job per process starts
    them all.

    Returns:
        The no-op jobs: all done once every process is warm (for a caller who wants to wait).
    """
    executor = default_executor()
    return [executor.submit(int) for _ in range(_DefaultExecutor.size())]


def shutdown_render_executor() -> None:
    """Shut down the default pool (call at application exit): jobs not started are cancelled, a
    worker's current job is finished, a worker still warming up is stopped at once."""
    _DefaultExecutor.shutdown()


def _call(module: str, name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
    """Run ``module.name(*args, **kwargs)`` (in a worker: the module is imported there, not here)."""
    return getattr(importlib.import_module(module), name)(*args, **kwargs)


async def run(function: Callable[..., T], *args: Any, executor: Executor | None = None) -> T:
    """Run ``function(*args)`` in the PDF worker processes, without blocking the event loop.

    ``function`` must be picklable: a module-level function of a module the caller may import (its
    heavy imports inside its body).
    """
    return await asyncio.get_running_loop().run_in_executor(executor or default_executor(), function, *args)


async def render_pdf_async(
    view: DocumentView,
    executor: Executor | None = None,
    *,
    for_signing: bool = False,
    attachment_files: Mapping[str, bytes] | None = None,
) -> RenderedPdf:
    """Render a document in a worker process (:func:`common.pdf.render.render_pdf`), without blocking
    the event loop and without importing WeasyPrint here.

    Args:
        view: The document.
        executor: The executor to use, normally a ``ProcessPoolExecutor``; by default
            :func:`default_executor`.
        for_signing: As for :func:`~common.pdf.render.render_pdf`.
        attachment_files: As for :func:`~common.pdf.render.render_pdf`.

    Returns:
        Same as :func:`~common.pdf.render.render_pdf`.
    """
    job = functools.partial(
        _call,
        "common.pdf.render",
        "render_pdf",
        (view,),
        {"for_signing": for_signing, "attachment_files": attachment_files},
    )
    result: RenderedPdf = await asyncio.get_running_loop().run_in_executor(executor or default_executor(), job)
    return result


async def render_page_async(document: str, executor: Executor | None = None) -> bytes:
    """Print a standalone HTML page (a service's list, such as the outgoing register) to PDF in a
    worker process (:func:`common.pdf.render.render_page`), without importing WeasyPrint here.

    Args:
        document: The page, with its own stylesheet; it may load only the bundled fonts (``file:``
            URLs of :mod:`common.pdf.fontfiles`) and ``data:`` URLs.
        executor: As for :func:`render_pdf_async`.

    Returns:
        The PDF file.
    """
    job = functools.partial(_call, "common.pdf.render", "render_page", (document,), {})
    pdf: bytes = await asyncio.get_running_loop().run_in_executor(executor or default_executor(), job)
    return pdf
