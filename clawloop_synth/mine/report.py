"""``clusters.md``: one section per cluster with its label, size, codes, keywords and exemplars."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from clawloop_synth.mine.cluster import Clustering
from clawloop_synth.types import Failure, FailureCluster

__all__ = ["clusters_markdown"]


def clusters_markdown(clusters: Sequence[FailureCluster], failures: Mapping[str, Failure],
                      result: Clustering) -> str:
    total = sum(c.size for c in clusters)
    lines = [
        "# Failure clusters", "",
        f"{total} failures in {len(clusters)} clusters ({result.method}, k={result.k}, "
        f"silhouette {result.silhouette}).", "",
    ]
    for c in clusters:
        lines += [f"## {c.id}: {c.label}", "",
                  f"- size: {c.size} ({c.size / max(1, total):.0%})",
                  f"- codes: {', '.join(f'`{code}`' for code in c.codes)}",
                  f"- keywords: {', '.join(c.keywords)}",
                  "- exemplars:"]
        for fid in c.exemplar_ids:
            f = failures[fid]
            lines.append(f"  - trace `{f.trace_id}` step {f.step}: {f.card.replace('|', '/')}")
        lines.append("")
    return "\n".join(lines)
