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
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

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


def _worker_init(warm_up: WarmUp | None) -> None:
    """Initializer of each worker process: priority, logging, the PDF stack loaded and warmed."""
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
    logger.debug("PDF worker %d warm in %.2f s", os.getpid(), time.perf_counter() - started)


class _DefaultExecutor:
    _lock = threading.Lock()
    _executor: ProcessPoolExecutor | None = None
    _executor_size = 0
    _workers: int | None = None
    _warm_up: WarmUp | None = None

    @classmethod
    def size(cls) -> int:
        return cls._workers or pdf_pool_size()  # the container's CPU quota and memory limit

    @classmethod
    def get(cls) -> ProcessPoolExecutor:
        with cls._lock:
            if cls._executor is None:
                cls._executor_size = cls.size()
                cls._executor = ProcessPoolExecutor(
                    max_workers=cls._executor_size,
                    mp_context=_SpawnContextIgnoringCtrlC(),
                    initializer=_worker_init,
                    initargs=(cls._warm_up,),
                )
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
        return cls.size()

    @classmethod
    def shutdown(cls) -> None:
        with cls._lock:
            if cls._executor is not None:
                cls._executor.shutdown(wait=True, cancel_futures=True)
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
    """Shut down the default pool (call at application exit)."""
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
