"""The hash pool's size from the container's CPU limit, read from fake cgroup trees laid
out as cgroup v2 and v1 mount them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auth_api.passwords.cpu_quota import cpu_quota
from auth_api.passwords.hasher import usable_cpus


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def v2_tree(tmp_path: Path, membership: str = "0::/\n") -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    write(root / "cgroup.controllers", "cpuset cpu io memory pids\n")
    write(tmp_path / "self", membership)
    return root, tmp_path / "self"


def test_v2_quota_and_period_give_cpus(tmp_path: Path) -> None:
    root, self_cgroup = v2_tree(tmp_path)
    write(root / "cpu.max", "250000 100000\n")
    assert cpu_quota(root, self_cgroup) == 2.5


def test_v2_max_means_no_limit(tmp_path: Path) -> None:
    root, self_cgroup = v2_tree(tmp_path)
    write(root / "cpu.max", "max 100000\n")
    assert cpu_quota(root, self_cgroup) is None


def test_v2_the_smallest_limit_on_the_way_up_applies(tmp_path: Path) -> None:
    root, self_cgroup = v2_tree(tmp_path, "0::/kubepods/pod1/app\n")
    write(root / "kubepods/cpu.max", "400000 100000\n")
    write(root / "kubepods/pod1/cpu.max", "150000 100000\n")
    write(root / "kubepods/pod1/app/cpu.max", "max 100000\n")
    assert cpu_quota(root, self_cgroup) == 1.5


def test_v2_a_path_from_another_namespace_reads_the_mount_itself(tmp_path: Path) -> None:
    root, self_cgroup = v2_tree(tmp_path, "0::/../../elsewhere\n")
    write(root / "cpu.max", "100000 100000\n")
    assert cpu_quota(root, self_cgroup) == 1.0


def test_v1_cfs_quota_and_period(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    write(tmp_path / "self", "4:memory:/x\n3:cpu,cpuacct:/docker/abc\n0::/\n")
    write(root / "cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "200000\n")
    write(root / "cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n")
    assert cpu_quota(root, tmp_path / "self") == 2.0


def test_v1_minus_one_means_no_limit(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    write(tmp_path / "self", "1:cpu:/\n")
    write(root / "cpu/cpu.cfs_quota_us", "-1\n")
    write(root / "cpu/cpu.cfs_period_us", "100000\n")
    assert cpu_quota(root, tmp_path / "self") is None


@pytest.mark.parametrize("content", ["", "garbage\n", "100000\n", "abc 100000\n", "5 0\n"])
def test_unreadable_v2_files_mean_no_limit(tmp_path: Path, content: str) -> None:
    root, self_cgroup = v2_tree(tmp_path)
    write(root / "cpu.max", content)
    assert cpu_quota(root, self_cgroup) is None


def test_no_cgroup_at_all_means_no_limit(tmp_path: Path) -> None:
    assert cpu_quota(tmp_path / "missing", tmp_path / "missing-self") is None


def affinity() -> int:
    return len(os.sched_getaffinity(0))


def test_the_pool_is_the_quota_rounded_up_never_more_than_the_cpus() -> None:
    assert usable_cpus(lambda: 0.5) == 1
    assert usable_cpus(lambda: 1.2) == min(2, affinity())
    assert usable_cpus(lambda: 1000.0) == affinity()
    assert usable_cpus(lambda: None) == affinity()
