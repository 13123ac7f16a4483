"""The CPU a container may use, from its cgroup: the hash pool is sized from it, not from
the node's CPUs (a 16-core node may grant a pod 2 cores of quota; 16 hashes in flight
would then each run at an eighth of the speed, holding their memory eight times longer).

cgroup v2: `cpu.max` holds "QUOTA PERIOD" or "max PERIOD". cgroup v1: `cpu.cfs_quota_us`
(-1: no limit) and `cpu.cfs_period_us`. The limit that applies is the smallest on the
path from the process's cgroup (read from /proc/self/cgroup) up to the root; inside a
container that path is usually `/`, the container's own cgroup."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
SELF_CGROUP = Path("/proc/self/cgroup")
V1_CPU_MOUNTS = ("cpu", "cpu,cpuacct", "cpuacct,cpu")


def cpu_quota(root: Path = CGROUP_ROOT, self_cgroup: Path = SELF_CGROUP) -> float | None:
    """CPUs' worth of time the process may use per period (2.5 for "250000 100000"), or
    None when no quota limits it or none can be read."""
    memberships = read_memberships(self_cgroup)
    if (root / "cgroup.controllers").exists():  # v2, the unified hierarchy
        return smallest(quota_v2(d) for d in along(root, memberships.get("", "/")))
    for mount in V1_CPU_MOUNTS:
        if (root / mount).is_dir():
            path = next((p for c, p in memberships.items() if "cpu" in c.split(",")), "/")
            return smallest(quota_v1(d) for d in along(root / mount, path))
    return None


def read_memberships(self_cgroup: Path) -> dict[str, str]:
    """Controllers -> cgroup path, from lines "ID:CONTROLLERS:PATH" ("0::PATH" in v2)."""
    try:
        lines = self_cgroup.read_text().splitlines()
    except OSError:
        return {}
    found = {}
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3:
            found[parts[1]] = parts[2]
    return found


def along(mount: Path, path: str) -> list[Path]:
    """The directories from the process's cgroup up to the mount point. A path that is
    not under the mount (another namespace's view) stands for the mount itself."""
    current = mount / path.strip("/")
    if not current.is_dir():
        current = mount
    found = [current]
    while current != mount and mount in current.parents:
        current = current.parent
        found.append(current)
    return found


def quota_v2(directory: Path) -> float | None:
    fields = read_fields(directory / "cpu.max")
    if len(fields) != 2 or fields[0] == "max":
        return None
    return ratio(fields[0], fields[1])


def quota_v1(directory: Path) -> float | None:
    quota = read_fields(directory / "cpu.cfs_quota_us")
    period = read_fields(directory / "cpu.cfs_period_us")
    if len(quota) != 1 or len(period) != 1:
        return None
    return ratio(quota[0], period[0])


def ratio(quota: str, period: str) -> float | None:
    try:
        value, length = int(quota), int(period)
    except ValueError:
        return None
    return value / length if value > 0 and length > 0 else None


def read_fields(file: Path) -> list[str]:
    try:
        return file.read_text().split()
    except OSError:
        return []


def smallest(quotas: Iterable[float | None]) -> float | None:
    return min((q for q in quotas if q is not None), default=None)
