"""How many tasks each cluster gets: by its real failure mass, with a floor per cluster.

``--per-cluster N`` is the *mean*: a run over K clusters wants ``N * K`` tasks in all. Each cluster
first gets the floor; the rest is split in proportion to the cluster's mass (the number of distinct
real failed traces its failures come from, so one trace that repeats a call ten times weighs as
one), rounded by largest remainder (ties by cluster order), so the total is exact. With
``allocation="even"`` every cluster gets exactly ``N`` (the old behaviour).
"""

from __future__ import annotations

from collections.abc import Mapping

from clawloop_synth.types import Failure, FailureCluster

__all__ = ["ALLOCATIONS", "allocate", "cluster_mass", "default_floor"]

ALLOCATIONS = ("mass", "even")


def default_floor(mean: int) -> int:
    """The floor when none is given: two fifths of the mean, at least one task.

    A failure code is rated (its discrimination ratio) only with 20 tasks aimed at it; with a mean of
    25, a fifth left the clusters of middle mass (a fifth of the largest) just short of that, two fifths
    lifts them over while the largest clusters keep about twice the floor's share.
    """
    return max(1, 2 * mean // 5)


def cluster_mass(cluster: FailureCluster, failures: Mapping[str, Failure]) -> int:
    """Distinct real traces the cluster's member failures come from (its size when none is known)."""
    traces = {failures[i].trace_id for i in cluster.member_ids if i in failures}
    return len(traces) if traces else max(cluster.size, 0)


def allocate(masses: Mapping[str, int], mean: int, floor: int, allocation: str = "mass") -> dict[str, int]:
    """Tasks wanted per cluster id, in the order of ``masses``."""
    if allocation not in ALLOCATIONS:
        raise ValueError(f"unknown allocation '{allocation}' (known: {', '.join(ALLOCATIONS)})")
    ids = list(masses)
    if allocation == "even" or not ids:
        return {cid: mean for cid in ids}
    floor = min(max(floor, 0), mean)
    total = mean * len(ids)
    spare = total - floor * len(ids)
    weight = sum(max(m, 0) for m in masses.values())
    if weight == 0:
        return {cid: mean for cid in ids}
    shares = {cid: spare * max(masses[cid], 0) / weight for cid in ids}
    out = {cid: floor + int(shares[cid]) for cid in ids}
    left = total - sum(out.values())
    by_remainder = sorted(ids, key=lambda cid: (-(shares[cid] - int(shares[cid])), ids.index(cid)))
    for cid in by_remainder[:left]:
        out[cid] += 1
    return out
