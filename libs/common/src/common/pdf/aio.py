"""Run pyHanko's coroutines from synchronous code (worker processes and threads).

``asyncio.run`` would do, but CPython 3.11 makes it costly for a coroutine that returns a large value
from a process's main thread (where a pool worker runs its jobs): on its way out it looks up the
SIGINT handler it installed, and ``signal.getsignal`` formats the ``repr`` of that handler, which
contains the finished task and so the ``repr`` of its result, here the whole PDF. Measured: 1.3 ms for
a 190 KiB result against 0.1 ms with a plain event loop, on every signature and every verification.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["run"]

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion on a new event loop and close it (``asyncio.run`` without signals).

    Args:
        coroutine: The coroutine.

    Returns:
        Its result.

    Raises:
        RuntimeError: Called from a running event loop (use the ``*_async`` function instead).
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        coroutine.close()
        raise RuntimeError("common.pdf.aio.run() cannot be called from a running event loop")
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        try:
            pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()
