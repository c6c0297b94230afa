"""Coverage metrics: speed against the reference ``prdc`` package, scale, and index recall.

    python evals/bench_coverage.py              # 10k x 10k vs prdc, then 200k x 50k (own process)
    python evals/bench_coverage.py --tune-index # exact vs IVF self-join table behind exact_below
    python evals/bench_coverage.py --part million --from runs/airline  # 50k tasks x 1M traces (airline-like)

Data: 384-d unit vectors drawn from a mixture of 500 "topics", each a random centre plus a
16-dimensional random subspace (spread 0.8) and isotropic noise (0.3), the shape sentence
embeddings of templated agent traces have (neighbours far closer than random pairs). The synthetic
set uses the same topics with different topic weights. The script prints the neighbour cosines of
the data so the recall figures can be judged against it.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import pstats
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from clawloop_synth.coverage.metrics import CoverageConfig, evaluate, real_index_for  # noqa: E402
from clawloop_synth.index import IndexConfig, VectorIndex, recall_at_k  # noqa: E402

DIM = 384


def topics(n: int, *, seed: int, weight_seed: int, n_topics: int = 500, intrinsic: int = 16,
           spread: float = 0.8, noise: float = 0.3) -> np.ndarray:
    """``n`` unit vectors from the topic mixture described in the module docstring."""
    crng = np.random.default_rng(7)
    centres = crng.standard_normal((n_topics, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    bases = crng.standard_normal((n_topics, DIM, intrinsic)).astype(np.float32) / np.sqrt(DIM)
    weights = np.random.default_rng(weight_seed).dirichlet(np.full(n_topics, 0.5))
    rng = np.random.default_rng(seed)
    labels = rng.choice(n_topics, size=n, p=weights)
    out = np.empty((n, DIM), np.float32)
    for start in range(0, n, 8192):
        lab = labels[start:start + 8192]
        z = rng.standard_normal((len(lab), intrinsic)).astype(np.float32) * spread / np.sqrt(intrinsic)
        x = centres[lab] + np.einsum("ndi,ni->nd", bases[lab], z)
        x += rng.standard_normal((len(lab), DIM)).astype(np.float32) * noise / np.sqrt(DIM)
        out[start:start + len(lab)] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def describe(x: np.ndarray) -> str:
    import faiss

    sample = x[:500]
    flat = faiss.IndexFlatIP(DIM)
    flat.add(x)
    sims, _ = flat.search(sample, 11)
    rand = float(np.mean(np.sum(sample[:250] * sample[250:500], axis=1)))
    return f"cos to 1st nn {sims[:, 1].mean():.3f}, to 10th nn {sims[:, 10].mean():.3f}, random pair {rand:.3f}"


def figures(result: dict) -> dict:
    return {key: round(float(result[key]), 6) for key in ("precision", "recall", "density", "coverage")}


def small() -> None:
    import prdc

    real = topics(10_000, seed=1, weight_seed=11)
    synth = topics(10_000, seed=2, weight_seed=12)
    print(f"10k x 10k, {DIM}-d: {describe(real)}")
    start, cpu = time.perf_counter(), time.process_time()
    ours = evaluate(real, synth, CoverageConfig(k=5))
    t_ours, cpu_ours = time.perf_counter() - start, time.process_time() - cpu
    with contextlib.redirect_stdout(io.StringIO()):
        start, cpu = time.perf_counter(), time.process_time()
        ref = prdc.compute_prdc(real, synth, nearest_k=5)
        t_ref, cpu_ref = time.perf_counter() - start, time.process_time() - cpu
    mine = ours.summary()
    diff = max(abs(float(ref[key]) - mine[key]) for key in ref)
    print(f"  ours (exact={ours.exact}): {t_ours:.2f} s wall, {cpu_ours:.2f} s CPU  {figures(mine)}")
    print(f"  prdc:              {t_ref:.2f} s wall, {cpu_ref:.2f} s CPU (sklearn threads included)  "
          f"{figures(ref)}")
    print(f"  speed-up {t_ref / t_ours:.1f}x (target >= 5x); max |diff| {diff:.2e} "
          "(prdc counts ties as outside and rounds distances to float32)")


# The calls whose cumulative time accounts for a run of evaluate() at scale.
PHASES = (
    ("index build (k-means + add)", "index.py", "build"),
    ("  of which probe calibration", "index.py", "_calibrate"),
    ("k-NN searches (faiss)", "index.py", "_search"),
    ("range searches (faiss)", "index.py", "range_prepared"),
    ("float64 boundary checks", "geometry.py", "pair_sq_dists"),
    ("Vendi scores", "diversity.py", "vendi"),
)
# The same for the million part, by the step of evaluate() each call serves.
MILLION_PHASES = (
    ("trace->trace self-join", "index.py", "search_own"),
    ("task->trace search", "geometry.py", "refined_neighbours"),
    ("own-list radius bounds", "_cells.py", "own_list_kth"),
    ("k-NN radii", "approximate.py", "radii"),
    ("cross figures", "approximate.py", "_cross"),
    ("  of which range searches", "index.py", "range_prepared"),
    ("gap-fill ball counts", "geometry.py", "ball_counts_from_candidates"),
    ("float64 boundary checks", "geometry.py", "pair_sq_dists"),
    ("Vendi scores", "diversity.py", "vendi"),
)


def phase_times(stats: pstats.Stats, phases: tuple = PHASES) -> list[tuple[str, float, int]]:
    raw: dict = stats.stats  # type: ignore[attr-defined]
    out = []
    for label, file, func in phases:
        rows = [(v[3], v[1]) for (f, _, fn), v in raw.items() if f.endswith(file) and fn == func]
        out.append((label, sum(r[0] for r in rows), sum(r[1] for r in rows)))
    return out


def large() -> None:
    import faiss

    real = topics(200_000, seed=3, weight_seed=11)
    synth = topics(50_000, seed=4, weight_seed=12)
    print(f"200k x 50k, {DIM}-d: {describe(real)}")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    profile = cProfile.Profile()
    start, cpu = time.perf_counter(), time.process_time()
    profile.enable()
    result = evaluate(real, synth, CoverageConfig(k=5))
    profile.disable()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    summary = result.summary()
    print(f"  ours (exact={result.exact}): {seconds:.1f} s wall, {cpu:.1f} s CPU over 2 cores (target < 120 s), "
          f"peak RSS {peak:.2f} GiB (target < 4 GiB; "
          f"{rss_before:.2f} GiB before the call, inputs included)")
    print(f"  {figures(summary)} gap-fill {json.dumps(summary['gap_fill'])}")
    print(f"  indexes {json.dumps(summary['indexes'])}")
    print("  where the wall time goes (cumulative, overlapping rows indented):")
    for label, total, calls in phase_times(pstats.Stats(profile)):
        print(f"    {label:<30} {total:6.1f} s  ({calls} calls)")
    # Recall@10 of the index the metrics used, on fresh queries of both kinds, against flat search:
    # own points at the self-join probe count, synthetic queries at the outside-query one.
    index = VectorIndex.build(real, config=IndexConfig(), queries=synth)  # as evaluate() builds it
    flat = faiss.IndexFlatIP(DIM)
    flat.add(index.vectors)
    fresh = np.random.default_rng(99)
    for name, queries, skip, nprobe in (
            ("real->real (self excluded)", index.vectors[fresh.choice(len(real), 2000, replace=False)], 1,
             index.nprobe),
            ("synthetic->real", index.prepare(synth[fresh.choice(len(synth), 2000, replace=False)]), 0,
             index.nprobe_cross)):
        exact, _ = flat.search(queries, 10 + skip)
        approx, _ = index.search_prepared(queries, 10 + skip, own=bool(skip))
        recall = recall_at_k(exact[:, skip:], approx[:, skip:], "cosine")
        print(f"  IVF recall@10 {name}: {recall:.4f} (target >= 0.95; nlist {index.index.nlist}, nprobe {nprobe})")


def airline_like(n_real: int, n_synth: int, workdir: Path, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Trace and task embeddings replicated from an airline run's and perturbed.

    The coverage views of ``workdir``'s traces and tasks (hashing embedder, 2,048-d) are projected to
    384-d by a seeded Gaussian matrix (Johnson-Lindenstrauss: cosines kept to within a few hundredths;
    1,000,000 x 2,048 float32 would be 8 GB) and become the centres of :func:`topics`-like clusters: each
    copy is its centre plus a move in a 16-d subspace of its own centre and isotropic noise, so copies are
    distinct and their nearest neighbours are other copies of the same trace or task.
    """
    from clawloop_synth.coverage.stage import _load, embed_views, real_views, write_tools
    from clawloop_synth.coverage.views import task_view
    from clawloop_synth.embed import make_embedder

    traces, failures, tasks = _load(workdir, "traces"), _load(workdir, "failures"), _load(workdir, "tasks")
    emb = make_embedder("hashing", None)
    writes = write_tools(tasks)
    real = embed_views(real_views(traces, failures, writes), emb.embed)
    synth = embed_views([task_view(t, writes) for t in tasks], emb.embed)
    rng = np.random.default_rng(seed)
    proj = rng.standard_normal((real.shape[1], DIM)).astype(np.float32) / np.sqrt(DIM)

    def grow(base: np.ndarray, n: int, salt: int) -> np.ndarray:
        centres = base @ proj
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        local = np.random.default_rng(seed + salt)
        bases = local.standard_normal((len(centres), DIM, 16)).astype(np.float32) / np.sqrt(DIM)
        out = np.empty((n, DIM), np.float32)
        for start in range(0, n, 8192):
            lab = local.integers(0, len(centres), size=min(8192, n - start))
            z = local.standard_normal((len(lab), 16)).astype(np.float32) * 0.8 / 4.0
            x = centres[lab]
            # Each centre's move in its own subspace, one product per centre (gathering a 384 x 16 basis
            # per row, as an einsum over bases[lab] did, cost more than the rest of the bench's set-up).
            order = np.argsort(lab, kind="stable")
            cuts = np.flatnonzero(np.diff(lab[order])) + 1
            for rows in np.split(order, cuts):
                x[rows] += z[rows] @ bases[lab[rows[0]]].T
            x += local.standard_normal((len(lab), DIM)).astype(np.float32) * 0.3 / np.sqrt(DIM)
            out[start:start + len(lab)] = x / np.linalg.norm(x, axis=1, keepdims=True)
        return out

    return grow(real, n_real, 1), grow(synth, n_synth, 2)


def million(workdir: Path, n_real: int = 1_000_000, n_synth: int = 50_000, sample: int = 1000) -> None:
    """Coverage of 50,000 tasks against 1,000,000 traces (airline-like, see :func:`airline_like`) on the
    approximate index, with the index's recall@10 against exact search on ``sample`` queries of each kind."""
    import faiss

    start, cpu = time.perf_counter(), time.process_time()
    real, synth = airline_like(n_real, n_synth, workdir)
    print(f"{n_real:,} traces x {n_synth:,} tasks, {DIM}-d, from the airline run in {workdir} "
          f"({time.perf_counter() - start:.0f} s wall, {time.process_time() - cpu:.0f} s CPU to make); "
          f"load {_load_avg()}", flush=True)
    print(f"  {describe(real[:200_000])} (neighbours within the first 200,000)", flush=True)
    config = CoverageConfig(k=5)
    start, cpu = time.perf_counter(), time.process_time()
    index = real_index_for(real, synth, config)
    built, built_cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"  real index built: {built:.1f} s wall, {built_cpu:.1f} s CPU; {json.dumps(index.describe())}; "
          f"load {_load_avg()}", flush=True)
    profile = cProfile.Profile()
    profile.enable()
    result = evaluate(real, synth, config, real_index=index)
    profile.disable()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    summary = result.summary()
    print(f"  coverage (index build + evaluate, exact={result.exact}): {seconds:.1f} s wall (target < 300 s), "
          f"{cpu:.1f} s CPU, peak RSS {peak:.2f} GiB (inputs included); load {_load_avg()}")
    print(f"  {figures(summary)} vendi {json.dumps(summary['vendi'])} gap-fill {json.dumps(summary['gap_fill'])}")
    print(f"  indexes {json.dumps(summary['indexes'])}", flush=True)
    print("  where evaluate's wall time goes (cumulative, overlapping rows indented):")
    for label, total, calls in phase_times(pstats.Stats(profile), MILLION_PHASES):
        print(f"    {label:<30} {total:6.1f} s  ({calls} calls)")
    # Recall@10 of the searches evaluate() ran, on fresh sampled queries against flat search: traces
    # among traces by the list-by-list self-join (search_own, the query itself excluded), tasks among
    # traces by faiss's IVF search at the outside-query probe count.
    start, cpu = time.perf_counter(), time.process_time()
    flat = faiss.IndexFlatIP(DIM)
    flat.add(index.vectors)
    fresh = np.random.default_rng(99)
    rows = fresh.choice(n_real, sample, replace=False)
    exact, _ = flat.search(index.vectors[rows], 11)
    approx, _ = index.search_own(rows, 11)
    recall = recall_at_k(exact[:, 1:], approx[:, 1:], "cosine")
    print(f"  recall@10 trace->trace (self excluded): {recall:.4f} against exact search on {sample:,} sampled "
          f"traces (target >= 0.95; nlist {index.index.nlist}, {index.cell_probes} probes per list)")
    queries = index.prepare(synth[fresh.choice(n_synth, sample, replace=False)])
    exact, _ = flat.search(queries, 10)
    approx, _ = index.search_prepared(queries, 10)
    recall = recall_at_k(exact, approx, "cosine")
    print(f"  recall@10 task->trace: {recall:.4f} against exact search on {sample:,} sampled tasks "
          f"(target >= 0.95; nprobe {index.nprobe_cross}); recall check {time.perf_counter() - start:.0f} s wall, "
          f"{time.process_time() - cpu:.0f} s CPU; load {_load_avg()}")


def _load_avg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def tune_index() -> None:
    """Self-join (k = 11) with flat search against IVF (build + calibration + search)."""
    print("n        flat s   ivf s   ivf recall@10   nprobe")
    for n in (5_000, 10_000, 20_000, 40_000):
        x = topics(n, seed=5, weight_seed=11)
        start = time.perf_counter()
        flat = VectorIndex.build(x, config=IndexConfig(exact_below=n + 1))
        exact, _ = flat.search_ids(flat.vectors, 11)
        t_flat = time.perf_counter() - start
        start = time.perf_counter()
        ivf = VectorIndex.build(x, config=IndexConfig(exact_below=1))
        approx, _ = ivf.search_ids(ivf.vectors, 11, own=True)
        t_ivf = time.perf_counter() - start
        recall = recall_at_k(exact[:, 1:], approx[:, 1:], "cosine")
        print(f"{n:<8,} {t_flat:<8.2f} {t_ivf:<7.2f} {recall:<15.3f} {ivf.nprobe}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tune-index", action="store_true")
    parser.add_argument("--part", choices=["small", "large", "million"])
    parser.add_argument("--from", dest="workdir", type=Path, default=Path("runs/airline"),
                        help="--part million: the airline run whose embeddings are replicated")
    parser.add_argument("--traces", type=int, default=1_000_000)
    parser.add_argument("--tasks", type=int, default=50_000)
    parser.add_argument("--sample", type=int, default=1000, help="--part million: queries of each kind whose "
                        "recall is measured against exact search")
    args = parser.parse_args()
    if args.tune_index:
        tune_index()
    elif args.part == "million":
        million(args.workdir, args.traces, args.tasks, args.sample)
    elif args.part == "small":
        small()
    elif args.part == "large":
        large()
    else:
        small()
        # Its own process, so that its peak memory is its own.
        subprocess.run([sys.executable, __file__, "--part", "large"], check=True)


if __name__ == "__main__":
    main()
