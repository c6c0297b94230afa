"""Mining quality without gold: tau-bench airline trajectories, 5 folds grouped by task.

Labels (computed WITH the gold): each failed trace's label is the code of the gold-action diff's
earliest divergence (``mine/gold.py``: wrong argument, missing or extra action); a failed trace the
gold diff finds nothing in is labelled by the required-outputs check (missing output), else
``unexplained``.

Mining input (gold stripped): ``gold_actions``, ``gold_outputs`` and ``instruction`` are removed
from every trace (the reader's copies of ``info.task.actions``, ``info.task.outputs`` and
``info.task.instruction``; ``info.reward_info.actions`` is never read by the reader) and metadata is
reduced to the trial number and who ended the run (``reward_details``, the gold database's hash, and
the task's ``user_id`` are dropped). No domain pack is used: mining knows only the tools the calls
show. The reward stays: it is what says a run failed.

What mining sees: task ids are shuffled (seed 0) and cut into 5 folds; two protocols are run.

- A, fold alone (the headline): mining a fold sees all of that fold's traces, successes included,
  and nothing else. Folds are grouped by task, so same-task contrast uses the fold's own successes,
  and a task none of whose runs succeeded is contrasted with what its other (failed) attempts in the
  fold agree on (their tool calls only: the stripped traces carry no gold).
- B, fold plus references: A, plus the *successful* runs of the other folds as unlabelled references
  (gold stripped too), as any user's trace store would hold. No other fold holds a run of the same
  task, so they only lend similar runs of other tasks.

Clusters are formed the pipeline's way (hashing embedder, spherical k-means, k by silhouette) on the
mined fold's failures only; a failed trace's cluster is the one of its decisive failure
(``mine.localize``), its code that failure's code.

Tuning on four: the contrast knobs (which user text is compared, how alike it must read, how many
similar runs are asked) are chosen per held-out fold F by the best mean code agreement over the four
other folds (in B each mined with references from folds other than itself and F). Neither F's
labels nor F's traces take part in choosing; F is then mined once with the chosen setting (in B with
references from the four others). Beside the code agreement, the majority-label baseline: every
failed trace of F given the most common label of the four other folds.

Printed per held-out fold: NMI and ARI of the clusters against the labels beside a TF-IDF k-means
(scikit-learn) of the failed traces' text at the same k (the number of clusters the failed traces
fall in), the share of failed traces whose code agrees with the label, and the share unexplained.
Targets: NMI above the baseline's on every held-out fold, code agreement >= 60%, unexplained < 25%.

    python evals/mining_quality.py [--data FILE] [--seed N]
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from clawloop_synth.embed import HashingEmbedder  # noqa: E402
from clawloop_synth.ingest import iter_traces  # noqa: E402
from clawloop_synth.mine.cluster import cluster_vectors  # noqa: E402
from clawloop_synth.mine.context import build_context  # noqa: E402
from clawloop_synth.mine.gold import gold_diff  # noqa: E402
from clawloop_synth.mine.localize import localize  # noqa: E402
from clawloop_synth.mine.miner import mine_trace  # noqa: E402
from clawloop_synth.mine.signals import missing_outputs  # noqa: E402
from clawloop_synth.mine.taxonomy import UNEXPLAINED  # noqa: E402
from clawloop_synth.types import Failure, Trace  # noqa: E402

DATA = ROOT.parent / "shared" / "datasets" / "tau-bench" / "gpt-4o-airline.json"
FOLDS = 5
TEXTS = ("user", "opening")
SIMILARITY = (0.0, 0.2, 0.4, 2.0)  # 2.0: never contrast with other tasks
NEIGHBOURS = (1, 3)


@dataclass(frozen=True)
class Setting:
    text: str
    min_similarity: float
    neighbours: int

    def __str__(self) -> str:
        sim = "off" if self.min_similarity > 1 else f"{self.min_similarity:.1f}"
        return f"{self.text} text, similarity>={sim}, neighbours={self.neighbours}"


@dataclass
class Score:
    n: int
    k: int
    nmi: float
    ari: float
    base_nmi: float
    base_ari: float
    agree: float
    unexplained: float


def gold_labels(traces: list[Trace]) -> dict[str, str]:
    """Failed trace id -> code of the gold diff's earliest divergence (computed with the gold)."""
    ctx = build_context(traces)
    out = {}
    for t in traces:
        if not ctx.failed(t):
            continue
        diff = gold_diff(t, ctx)
        if diff:
            out[t.id] = min(diff, key=lambda f: f.step).code
        else:
            out[t.id] = missing_outputs(t, ctx)[0].code if missing_outputs(t, ctx) else UNEXPLAINED
    return out


def strip_gold(trace: Trace) -> Trace:
    """The trace as mining sees it: no gold actions, outputs, instruction or gold-derived metadata."""
    kept = {k: trace.metadata[k] for k in ("trial", "ended_by") if k in trace.metadata}
    stripped = trace.model_copy(update={"gold_actions": None, "gold_outputs": [], "instruction": None,
                                        "metadata": kept})
    assert stripped.gold_actions is None and not stripped.gold_outputs and stripped.instruction is None
    assert "reward_details" not in json.dumps(stripped.metadata)
    return stripped


def folds(traces: list[Trace], seed: int) -> list[list[Trace]]:
    tasks = sorted({t.task_id or t.id for t in traces}, key=lambda s: (len(s), s))
    random.Random(seed).shuffle(tasks)
    fold_of = {task: i % FOLDS for i, task in enumerate(tasks)}
    out: list[list[Trace]] = [[] for _ in range(FOLDS)]
    for t in traces:
        out[fold_of[t.task_id or t.id]].append(t)
    return out


def trace_text(trace: Trace) -> str:
    parts = []
    for m in trace.messages:
        parts.append(m.content or "")
        parts.extend(f"{c.name} {json.dumps(c.arguments, sort_keys=True)}" for c in m.tool_calls)
    return "\n".join(parts)


def tfidf_kmeans(texts: list[str], k: int, seed: int) -> np.ndarray:
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    x = TfidfVectorizer(sublinear_tf=True, min_df=1).fit_transform(texts)
    return KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(x)


def mine_fold(fold: list[Trace], references: list[Trace], setting: Setting) -> tuple[list[Failure],
                                                                                   dict[str, Failure]]:
    """All failures of the fold's traces and each failed trace's decisive failure."""
    ctx = build_context([*fold, *references])
    ctx.contrast_text = setting.text
    ctx.contrast_min_similarity = setting.min_similarity
    ctx.contrast_neighbours = setting.neighbours
    failures, decisive = [], {}
    for t in fold:
        found = mine_trace(t, ctx)
        failures.extend(found)
        if ctx.failed(t):
            where = localize(t, found)
            assert where is not None and where.failure_id is not None
            decisive[t.id] = next(f for f in found if f.id == where.failure_id)
    return failures, decisive


def agreement(decisive: dict[str, Failure], labels: dict[str, str]) -> float:
    return sum(f.code == labels[tid] for tid, f in decisive.items()) / max(1, len(decisive))


def score(fold: list[Trace], failures: list[Failure], decisive: dict[str, Failure], labels: dict[str, str],
          seed: int) -> Score:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    x = HashingEmbedder().embed([f.card for f in failures])
    result = cluster_vectors(x, seed=seed)
    cluster_of = {f.id: int(c) for f, c in zip(failures, result.labels, strict=True)}
    failed = [t for t in fold if t.id in decisive]
    truth = [labels[t.id] for t in failed]
    ours = [cluster_of[decisive[t.id].id] for t in failed]
    k = len(set(ours))
    base = tfidf_kmeans([trace_text(t) for t in failed], k, seed) if k > 1 else np.zeros(len(failed))
    codes = [decisive[t.id].code for t in failed]
    return Score(
        n=len(failed), k=k,
        nmi=normalized_mutual_info_score(truth, ours), ari=adjusted_rand_score(truth, ours),
        base_nmi=normalized_mutual_info_score(truth, base), base_ari=adjusted_rand_score(truth, base),
        agree=agreement(decisive, labels),
        unexplained=sum(c == UNEXPLAINED for c in codes) / len(failed))


def successes(parts: list[list[Trace]], skip: set[int]) -> list[Trace]:
    return [t for i, part in enumerate(parts) if i not in skip for t in part
            if t.reward is not None and t.reward >= 0.5]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="tau-bench trajectories (JSON list)")
    parser.add_argument("--seed", type=int, default=0, help="fold shuffle and clustering seed")
    args = parser.parse_args()

    traces = list(iter_traces([args.data]))
    labels = gold_labels(traces)
    print(f"{len(traces)} traces, {len(labels)} failed; labels (with gold): "
          + ", ".join(f"{code.split('/')[-1]} {n}" for code, n in Counter(labels.values()).most_common()))
    parts = [[strip_gold(t) for t in fold] for fold in folds(traces, args.seed)]
    settings = [Setting(*p) for p in itertools.product(TEXTS, SIMILARITY, NEIGHBOURS)]

    for name, with_refs in (("A, fold alone", False), ("B, fold plus other folds' successes", True)):
        report(name, parts, labels, settings, with_refs, args.seed)


def report(name: str, parts: list[list[Trace]], labels: dict[str, str], settings: list[Setting],
           with_refs: bool, seed: int) -> None:
    def refs(skip: set[int]) -> list[Trace]:
        return successes(parts, skip) if with_refs else []

    print(f"\nprotocol {name}")
    print(f"{'fold':>4} {'failed':>6} {'k':>3} {'NMI':>6} {'tfidf':>6} {'ARI':>6} {'tfidf':>6} "
          f"{'agree':>6} {'major':>6} {'unexpl':>6}  setting (chosen on the other four folds)")
    held, majority = [], []
    for i in range(FOLDS):
        train = [j for j in range(FOLDS) if j != i]
        fitted = {s: float(np.mean([agreement(mine_fold(parts[j], refs({i, j}), s)[1], labels) for j in train]))
                  for s in settings}
        best = max(settings, key=lambda s: (fitted[s], -settings.index(s)))
        failures, decisive = mine_fold(parts[i], refs({i}), best)
        sc = score(parts[i], failures, decisive, labels, seed)
        held.append(sc)
        common = Counter(labels[t.id] for j in train for t in parts[j] if t.id in labels).most_common(1)[0][0]
        major = sum(labels[tid] == common for tid in decisive) / len(decisive)
        majority.append(major * len(decisive))
        print(f"{i:>4} {sc.n:>6} {sc.k:>3} {sc.nmi:6.3f} {sc.base_nmi:6.3f} {sc.ari:6.3f} {sc.base_ari:6.3f} "
              f"{sc.agree:6.1%} {major:6.1%} {sc.unexplained:6.1%}  {best} (train agreement {fitted[best]:.1%})")
    n = sum(s.n for s in held)
    agree = sum(s.agree * s.n for s in held) / n
    unexplained = sum(s.unexplained * s.n for s in held) / n
    beats = sum(s.nmi > s.base_nmi for s in held)
    print(f"held-out folds: NMI {np.mean([s.nmi for s in held]):.3f} (TF-IDF k-means "
          f"{np.mean([s.base_nmi for s in held]):.3f}), ARI {np.mean([s.ari for s in held]):.3f} "
          f"(TF-IDF {np.mean([s.base_ari for s in held]):.3f}); code agreement {agree:.1%} (majority label "
          f"{sum(majority) / n:.1%}); unexplained {unexplained:.1%} (of {n} failed traces)")
    print(f"targets: NMI above TF-IDF on every fold: {'met' if beats == FOLDS else 'MISSED'} ({beats}/{FOLDS}); "
          f"agreement >= 60%: {'met' if agree >= 0.6 else 'MISSED'}; unexplained < 25%: "
          f"{'met' if unexplained < 0.25 else 'MISSED'}")

if __name__ == "__main__":
    main()
