"""What the container lets this process use: CPU quota and memory limit from the cgroup.

``os.cpu_count()`` is the node's cores: on an 8-core node a Pod limited to 1 CPU and 768 MiB would
start 8 PDF workers of ~165 MB each. :func:`pdf_pool_size` sizes the pool from the limits instead.
Both cgroup versions are read (v2: ``cpu.max``, ``memory.max``; v1: ``cpu.cfs_quota_us`` /
``cpu.cfs_period_us``, ``memory.limit_in_bytes``), from the process's own cgroup up to the root:
the tightest limit on the way applies.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
UNLIMITED_MEMORY = 1 << 62  # cgroup v1 reports "no limit" as a huge page-rounded number
WEB_PROCESS_BYTES = 256 * 1024 * 1024
"""Memory left to the web process (and its connections) before PDF workers are counted."""
PDF_WORKER_BYTES = 200 * 1024 * 1024
"""Memory one PDF worker needs: ~165 MB resident measured idle, plus a document being rendered."""


@dataclass(frozen=True)
class Limits:
    """The container's limits; None where there is none."""

    cpus: float | None
    memory_bytes: int | None


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _ancestors(folder: Path, top: Path) -> list[Path]:
    """``folder`` and its parents up to ``top`` (just ``top`` when ``folder`` is not below it)."""
    try:
        relative = folder.relative_to(top)
    except ValueError:
        return [top]
    chain = [top / Path(*relative.parts[:i]) for i in range(len(relative.parts), 0, -1)]
    return [*[p for p in chain if p.is_dir()], top]


def _v2(root: Path, path: str) -> Limits:
    cpus: float | None = None
    memory: int | None = None
    for folder in _ancestors(root / path.lstrip("/"), root):
        cpu_max = (_read(folder / "cpu.max") or "max").split()
        if cpu_max[0] != "max" and len(cpu_max) == 2 and int(cpu_max[1]) > 0:
            quota = int(cpu_max[0]) / int(cpu_max[1])
            cpus = quota if cpus is None else min(cpus, quota)
        memory_max = _read(folder / "memory.max") or "max"
        if memory_max != "max":
            memory = int(memory_max) if memory is None else min(memory, int(memory_max))
    return Limits(cpus, memory)


def _v1(root: Path, paths: dict[str, str]) -> Limits:
    cpus: float | None = None
    memory: int | None = None
    cpu_mount = next((root / name for name in ("cpu", "cpu,cpuacct", "cpuacct,cpu") if (root / name).is_dir()), None)
    if cpu_mount is not None and "cpu" in paths:
        for folder in _ancestors(cpu_mount / paths["cpu"].lstrip("/"), cpu_mount):
            quota, period = _read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")
            if quota and period and int(quota) > 0 and int(period) > 0:
                value = int(quota) / int(period)
                cpus = value if cpus is None else min(cpus, value)
    memory_mount = root / "memory"
    if memory_mount.is_dir() and "memory" in paths:
        for folder in _ancestors(memory_mount / paths["memory"].lstrip("/"), memory_mount):
            limit = _read(folder / "memory.limit_in_bytes")
            if limit and int(limit) < UNLIMITED_MEMORY:
                memory = int(limit) if memory is None else min(memory, int(limit))
    return Limits(cpus, memory)


def read_limits(root: Path = CGROUP_ROOT, proc_cgroup: Path = Path("/proc/self/cgroup")) -> Limits:
    """This process's CPU quota (in cores) and memory limit (in bytes), as its cgroups set them."""
    lines = (_read(proc_cgroup) or "").splitlines()
    if (root / "cgroup.controllers").exists():  # cgroup v2 (unified)
        path = next((line.split(":", 2)[2] for line in lines if line.startswith("0::")), "/")
        return _v2(root, path)
    paths: dict[str, str] = {}
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(","):
                paths[controller] = parts[2]
    return _v1(root, paths)


def available_cpus() -> int:
    """The cores this process may run on (its CPU affinity), before any quota."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def pdf_pool_size(limits: Limits | None = None, cpus: int | None = None) -> int:
    """PDF worker processes for this container: one per core it may use, no more than its memory holds.

    A CPU quota counts whole cores (1.5 CPUs: 1 worker); the memory limit keeps
    :data:`WEB_PROCESS_BYTES` for the web process and :data:`PDF_WORKER_BYTES` per worker. Never
    fewer than one.
    """
    limits = limits if limits is not None else read_limits()
    size = cpus if cpus is not None else available_cpus()
    if limits.cpus is not None:
        size = min(size, int(limits.cpus))
    if limits.memory_bytes is not None:
        size = min(size, (limits.memory_bytes - WEB_PROCESS_BYTES) // PDF_WORKER_BYTES)
    return max(1, size)
