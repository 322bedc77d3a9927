"""PDF pool sizing from the container's cgroup limits, not the node's cores."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.container import Limits, pdf_pool_size, read_limits

MIB = 1024 * 1024


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")


def test_cgroup_v2_limits_are_the_tightest_from_the_process_up(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    write(
        root,
        {
            "cgroup.controllers": "cpu memory",
            "cpu.max": "max 100000",
            "memory.max": "max",
            "kubepods/cpu.max": "400000 100000",  # 4 CPUs for the node's pods
            "kubepods/memory.max": str(8192 * MIB),
            "kubepods/pod1/ctr/cpu.max": "150000 100000",  # the container: 1.5 CPUs, 768 MiB
            "kubepods/pod1/ctr/memory.max": str(768 * MIB),
        },
    )
    write(tmp_path, {"self-cgroup": "0::/kubepods/pod1/ctr"})
    limits = read_limits(root, tmp_path / "self-cgroup")
    assert limits == Limits(cpus=1.5, memory_bytes=768 * MIB)
    # A cgroup namespace shows the container's own cgroup as the root: its files are at the top.
    write(tmp_path / "ns", {"cgroup.controllers": "cpu", "cpu.max": "200000 100000", "memory.max": "max"})
    write(tmp_path, {"ns-cgroup": "0::/"})
    assert read_limits(tmp_path / "ns", tmp_path / "ns-cgroup") == Limits(cpus=2.0, memory_bytes=None)


def test_cgroup_v1_limits(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    write(
        root,
        {
            "cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "200000",
            "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000",
            "cpu,cpuacct/cpu.cfs_quota_us": "-1",
            "cpu,cpuacct/cpu.cfs_period_us": "100000",
            "memory/docker/abc/memory.limit_in_bytes": str(1024 * MIB),
            "memory/memory.limit_in_bytes": "9223372036854771712",  # no limit
        },
    )
    write(tmp_path, {"self-cgroup": "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/"})
    assert read_limits(root, tmp_path / "self-cgroup") == Limits(cpus=2.0, memory_bytes=1024 * MIB)
    write(tmp_path, {"none": "4:memory:/\n3:cpu,cpuacct:/"})
    assert read_limits(root, tmp_path / "none") == Limits(cpus=None, memory_bytes=None)


@pytest.mark.parametrize(
    ("limits", "cores", "workers"),
    [
        (Limits(cpus=1.0, memory_bytes=768 * MIB), 8, 1),  # the Pod on an 8-core node: not 8
        (Limits(cpus=4.0, memory_bytes=768 * MIB), 8, 2),  # memory holds two workers beside the web process
        (Limits(cpus=None, memory_bytes=None), 8, 8),  # no limits: one per core
        (Limits(cpus=1.5, memory_bytes=None), 8, 1),  # a fraction of a core does not add a worker
        (Limits(cpus=0.5, memory_bytes=256 * MIB), 8, 1),  # never fewer than one
        (Limits(cpus=None, memory_bytes=4096 * MIB), 2, 2),  # the cores the process may use
    ],
)
def test_the_pdf_pool_fits_the_container(limits: Limits, cores: int, workers: int) -> None:
    assert pdf_pool_size(limits, cpus=cores) == workers


def test_this_machine_reads_without_error() -> None:
    limits = read_limits()
    assert limits.cpus is None or limits.cpus > 0
    assert pdf_pool_size() >= 1
