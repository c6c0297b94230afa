"""Fidelity of induced packs: induce from 4 folds of trajectories, replay the held-out fold's calls.

Trajectories are grouped by task into 5 folds. Every figure is printed beside two baselines run
here: the hand-built pack (upper bound) and a memorizing simulator (an identical call seen in
training gets its recorded result, anything else a not-found error).

(a) with the database: share of held-out tool results reproduced exactly (JSON-normalized), field
    F1 over result leaves, error/no-error agreement, and reward agreement of the replayed gold
    actions (final state equal to the hand-built pack's). Targets: >= 95% exact and reward.
(b) traces only: each held-out trajectory's state is seeded from its own read results before its
    first write; share of write results and of later reads reproduced exactly. Target: >= 85%.
(c) the same on the demo traces against the demo pack (its seeded state dumped as the database).
Last: time to induce from all airline trajectories with the database (target < 60 s).

    python evals/induce_fidelity.py [--airline PATH --db DIR] [--demo PATH]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clawloop_synth.induce import induce, to_domain_pack  # noqa: E402
from clawloop_synth.induce.contained import ContainedLimits, run_contained  # noqa: E402
from clawloop_synth.induce.examples import Example, collect_calls, is_error_text, parse_result  # noqa: E402
from clawloop_synth.induce.fidelity import matches, run_handler  # noqa: E402
from clawloop_synth.induce.state import seed_from_reads  # noqa: E402
from clawloop_synth.ingest import iter_traces  # noqa: E402
from clawloop_synth.sim.pack import DomainPack, load_pack  # noqa: E402
from clawloop_synth.sim.sandbox import compile_handler  # noqa: E402
from clawloop_synth.types import Trace  # noqa: E402

FOLDS = 5
Sim = Callable[[dict[str, Any], str, dict[str, Any]], tuple[Any, str]]


def folds(traces: Sequence[Trace]) -> list[list[Trace]]:
    tasks = sorted({str(t.task_id or t.id) for t in traces})
    fold_of = {task: index % FOLDS for index, task in enumerate(tasks)}
    out: list[list[Trace]] = [[] for _ in range(FOLDS)]
    for trace in traces:
        out[fold_of[str(trace.task_id or trace.id)]].append(trace)
    return out


def pack_sim(pack: DomainPack) -> Sim:
    handlers = {spec.name: compile_handler(spec.handler) for spec in pack.tools}

    def run(state: dict[str, Any], name: str, args: dict[str, Any]) -> tuple[Any, str]:
        if name not in handlers:
            return None, f"Error: unknown tool '{name}'"
        return run_handler(handlers[name], state, args)

    return run


def memorizer(train: Sequence[Trace]) -> Sim:
    seen: dict[bytes, str] = {}
    for run in collect_calls(train):
        for e in run.calls:
            seen.setdefault(orjson.dumps([e.tool, e.args], option=orjson.OPT_SORT_KEYS), e.text)

    def run(state: dict[str, Any], name: str, args: dict[str, Any]) -> tuple[Any, str]:
        text = seen.get(orjson.dumps([name, args], option=orjson.OPT_SORT_KEYS), "Error: not found")
        value = parse_result(text)
        return (None if isinstance(value, str) else value), text

    return run


def leaves(value: Any, path: str = "$") -> set[tuple[str, bytes]]:
    if isinstance(value, dict):
        return {leaf for key, item in value.items() for leaf in leaves(item, f"{path}.{key}")}
    if isinstance(value, list):
        return {leaf for i, item in enumerate(value) for leaf in leaves(item, f"{path}[{i}]")}
    return {(path, orjson.dumps(value))}


def f1(got: Any, recorded: Any) -> float:
    a, b = leaves(got), leaves(recorded)
    if not a and not b:
        return 1.0
    common = len(a & b)
    return 2 * common / (len(a) + len(b)) if a or b else 1.0


class Tally:
    def __init__(self) -> None:
        self.n = self.exact = self.errors_agree = 0
        self.f1 = 0.0
        self.gold = self.gold_agree = 0
        self.tools: dict[str, list[int]] = {}  # tool -> [calls, exact]
        self.missed: list[str] = []  # a few mismatches, for --mismatches
        self.kinds: dict[str, int] = {}  # "tool: mismatch kind" -> count
        self.reward_diffs: dict[str, int] = {}  # "gold write tools: collection.field" -> count
        self.causes: dict[str, int] = {}  # traces only: why a result was missed -> count

    def add(self, example: Example, value: Any, text: str, aliases: dict[str, str]) -> None:
        from clawloop_synth.sim.replay import rename_keys

        self.n += 1
        exact = matches(value, text, example, aliases)
        self.exact += exact
        counts = self.tools.setdefault(example.tool, [0, 0])
        counts[0] += 1
        counts[1] += exact
        if not exact:
            kind = _mismatch_kind(value, text, example)
            self.kinds[f"{example.tool}: {kind}"] = self.kinds.get(f"{example.tool}: {kind}", 0) + 1
        if not exact and sum(m.startswith(example.tool + " ") for m in self.missed) < 8:
            self.missed.append(f"{example.tool} {orjson.dumps(example.args).decode()[:300]}\n      got "
                               f"{text[:400]}\n      recorded {example.text[:400]}")
        textual = value is None or isinstance(value, str)
        shown = parse_result(text) if textual else (rename_keys(value, aliases) if aliases else value)
        self.f1 += f1(shown, example.value)
        self.errors_agree += (textual and is_error_text(text)) == example.error

    def row(self) -> str:
        if not self.n:
            return "n/a"
        gold = f" reward {self.gold_agree / self.gold:6.1%}" if self.gold else ""
        return (f"exact {self.exact / self.n:6.1%}  F1 {self.f1 / self.n:6.1%}  "
                f"err-agree {self.errors_agree / self.n:6.1%}{gold}  (n={self.n})")


def _mismatch_kind(value: Any, text: str, example: Example) -> str:
    """What kind of miss: an error where a success was recorded, the reverse, or a different result."""
    got_error = (value is None or isinstance(value, str)) and is_error_text(text)
    if got_error and not example.error:
        return "error instead of success"
    if example.error and not got_error:
        return "success instead of error"
    return "other error text" if example.error else "other result"


def state_diffs(got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    """``collection.field`` (or ``collection: extra/missing entity``) where two states differ."""
    out: set[str] = set()
    for name in set(got) | set(want):
        a, b = got.get(name), want.get(name)
        if a == b:
            continue
        if not isinstance(a, dict) or not isinstance(b, dict):
            out.add(f"{name}: differs")
            continue
        for key in set(a) | set(b):
            x, y = a.get(key), b.get(key)
            if x == y:
                continue
            if x is None or y is None:
                out.add(f"{name}: {'missing' if x is None else 'extra'} entity")
            elif isinstance(x, dict) and isinstance(y, dict):
                out.update(f"{name}.{f}" for f in set(x) | set(y) if x.get(f) != y.get(f))
            else:
                out.add(f"{name}[key]")
    return sorted(out)


def fresh(base: dict[str, Any]) -> dict[str, Any]:
    from clawloop_synth.sim.state import copy_state

    return copy_state(base)


TALLY_FIELDS = ("n", "exact", "errors_agree", "f1", "gold", "gold_agree")
SHOW_MISSES = False


def _tallies_json(tallies: dict[str, Tally]) -> dict[str, dict[str, float]]:
    return {name: {**{attr: getattr(t, attr) for attr in TALLY_FIELDS}, "tools": t.tools, "missed": t.missed,
                   "kinds": t.kinds, "reward_diffs": t.reward_diffs, "causes": t.causes} for name, t in tallies.items()}


def _load(payload: dict[str, Any]) -> tuple[list[Trace], Path, DomainPack]:
    traces = list(iter_traces([Path(payload["traces"])]))
    db = Path(payload["db"])
    hand = load_pack(payload["pack"], None if payload["pack"] == "demo" else db)
    return traces, db, hand


def fold_with_db(payload: dict[str, Any]) -> dict[str, Any]:
    """One fold of (a), run in a contained child: the induced pack's handlers are untrusted source,
    so the child (resource-limited, the sandbox itself) replays them in-process."""
    traces, db, hand = _load(payload)
    index = int(payload["fold"])
    base = hand.load_state()  # the pack's own database (with any globals it carries)
    hand_sim = pack_sim(hand)
    held = folds(traces)[index]
    train = [t for j, fold in enumerate(folds(traces)) if j != index for t in fold]
    induced = induce(train, db=db)
    pack = to_domain_pack(induced, db)
    sims = {"induced": pack_sim(pack), "hand-built": hand_sim, "memorizer": memorizer(train)}
    aliases = {"induced": induced.aliases, "hand-built": dict(hand.recorded_key_aliases), "memorizer": {}}
    tallies = {name: Tally() for name in sims}
    for run in collect_calls(held):
        calls = [(e.tool, e.args) for e in run.calls]
        gold = [(a.name, a.arguments) for a in run.trace.gold_actions or []]
        refs = hand.touched(base, calls + gold)
        reference = hand.working_copy(base, refs)
        for name, args in gold:
            hand_sim(reference, name, dict(args))
        for name, sim in sims.items():
            state = hand.working_copy(base, refs)
            for e in run.calls:
                value, text = sim(state, e.tool, e.args)
                tallies[name].add(e, value, text, aliases[name])
            if run.trace.gold_actions is not None:
                state = hand.working_copy(base, refs)
                if name != "memorizer":  # a memorizer changes nothing
                    for tool, args in gold:
                        sim(state, tool, dict(args))
                tallies[name].gold += 1
                tallies[name].gold_agree += state == reference
                if state != reference:
                    tools = "+".join(sorted({tool for tool, _ in gold if tool in hand.write_tools})) or "no write"
                    for where in state_diffs(state, reference):
                        label = f"{tools}: {where}"
                        tallies[name].reward_diffs[label] = tallies[name].reward_diffs.get(label, 0) + 1
    return _tallies_json(tallies)


def overlay(base: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``own``'s entities on top (a field ``own`` shows wins; nested facets merge)."""
    state = fresh(base)
    for name, table in own.items():
        into = state.setdefault(name, {})
        for key, entity in table.items():
            known = into.get(key)
            if not isinstance(known, dict) or not isinstance(entity, dict):
                into[key] = fresh(entity)
                continue
            merged = {**known, **fresh(entity)}
            for field, value in entity.items():
                if isinstance(value, dict) and isinstance(known.get(field), dict) and \
                        all(isinstance(v, dict) for v in value.values()):
                    merged[field] = {**known[field], **fresh(value)}
            into[key] = merged
    return state


TRACES_ONLY = ("induced", "induced, own reads", "hand-built", "memorizer")


def fold_traces_only(payload: dict[str, Any]) -> dict[str, Any]:
    """One fold of (b), run in a contained child like :func:`fold_with_db`.

    "induced": the induced pack's own state (reconstructed from the training folds' reads) with the
    held-out trajectory's reads before its first write on top; "induced, own reads": those reads alone.
    Each miss is put down to its cause: the call names an entity that neither state holds (no read
    before the first write showed it), or not."""
    traces, _, hand = _load(payload)
    index = int(payload["fold"])
    base = hand.load_state()
    hand_sim = pack_sim(hand)
    held = folds(traces)[index]
    train = [t for j, fold in enumerate(folds(traces)) if j != index for t in fold]
    induced = induce(train, db=None)
    sim = pack_sim(to_domain_pack(induced))
    writes = induced.writes | hand.write_tools
    tallies = {name: Tally() for name in TRACES_ONLY}
    memo = memorizer(train)
    for run in collect_calls(held):
        first = next((i for i, e in enumerate(run.calls) if e.tool in writes), None)
        if first is None:
            continue
        seeded: dict[str, Any] = {}
        seed_from_reads(run, seeded, dict(induced.collections), writes, first_write_stops=True,
                        facets=induced.report.get("facets"))
        with_pack = overlay(induced.state, seeded)
        for name in TRACES_ONLY:
            state = {"induced": with_pack, "induced, own reads": seeded, "hand-built": base,
                     "memorizer": seeded}[name]
            state = fresh(state)
            start = fresh(state)
            runner = {"hand-built": hand_sim, "memorizer": memo}.get(name, sim)
            aliases = dict(hand.recorded_key_aliases) if name == "hand-built" else {}
            for i, e in enumerate(run.calls):
                value, text = runner(state, e.tool, e.args)
                if i >= first:
                    before = tallies[name].exact
                    tallies[name].add(e, value, text, aliases)
                    if tallies[name].exact == before:
                        unseen = any(key not in (start.get(collection) or {}) for collection, keys in
                                     hand.call_refs(base, e.tool, e.args).items() for key in keys)
                        cause = "names an entity not seeded" if unseen else "entities seeded"
                        tallies[name].causes[cause] = tallies[name].causes.get(cause, 0) + 1
    return _tallies_json(tallies)


def protocol(target: str, title: str, payload: dict[str, Any]) -> dict[str, Tally]:
    """Every fold of one protocol (each in its own contained child), printed per fold and overall."""
    overall: dict[str, Tally] = {}
    print(title)
    for index in range(FOLDS):
        figures = run_contained(f"evals.induce_fidelity:{target}", {**payload, "fold": index},
                                ContainedLimits(cpu_seconds=1800))
        for name, values in figures.items():
            overall.setdefault(name, Tally())
            tally = Tally()
            for attr in TALLY_FIELDS:
                setattr(tally, attr, values[attr])
            causes = ", ".join(f"{cause} {n}" for cause, n in sorted(values["causes"].items()))
            print(f"  fold {index} {name:10s} {tally.row()}" + (f"; misses: {causes}" if causes else ""))
            for attr in TALLY_FIELDS:
                setattr(overall[name], attr, getattr(overall[name], attr) + values[attr])
            for tool, (n, exact) in values["tools"].items():
                counts = overall[name].tools.setdefault(tool, [0, 0])
                counts[0] += n
                counts[1] += exact
            for attr in ("kinds", "reward_diffs", "causes"):
                table = getattr(overall[name], attr)
                for label, n in values[attr].items():
                    table[label] = table.get(label, 0) + n
            if name == "induced" and SHOW_MISSES:
                print("\n".join("    " + line for line in values["missed"]))
    for name, tally in overall.items():
        causes = ", ".join(f"{cause} {n}" for cause, n in sorted(tally.causes.items()))
        print(f"  overall {name:10s} {tally.row()}" + (f"; misses: {causes}" if causes else ""))
    print("  induced per tool: " + ", ".join(f"{tool} {exact}/{n}" for tool, (n, exact)
                                            in sorted(overall["induced"].tools.items()) if exact < n))
    kinds = sorted(overall["induced"].kinds.items(), key=lambda item: -item[1])
    print("  induced misses by tool and kind: " + (", ".join(f"{label} {n}" for label, n in kinds) or "none"))
    diffs = sorted(overall["induced"].reward_diffs.items(), key=lambda item: -item[1])
    if diffs:
        print("  induced reward misses (gold write tools: where the final state differs; a trajectory counts once "
              "per place): " + ", ".join(f"{label} {n}" for label, n in diffs))
    return overall


def with_db(path: Path, db: Path, pack: str, label: str, count: int) -> dict[str, Tally]:
    return protocol("fold_with_db", f"\n({label}) with --db: {count} trajectories, {FOLDS} folds by task",
                    {"traces": str(path.resolve()), "db": str(db.resolve()), "pack": pack})


def traces_only(path: Path, db: Path, pack: str, label: str) -> dict[str, Tally]:
    return protocol("fold_traces_only", f"\n({label}) traces only: state seeded from each held-out trajectory's "
                    "reads before its first write; write results and later reads",
                    {"traces": str(path.resolve()), "db": str(db.resolve()), "pack": pack})


def demo_db(folder: Path) -> Path:
    """The demo pack's collections as a database folder (its clock and counters are globals, not collections)."""
    from clawloop_synth.sim.pack_folder import pack_folder

    for path in sorted((pack_folder("demo") / "state").glob("*.json")):
        table = orjson.loads(path.read_bytes())
        if isinstance(table, dict) and all(isinstance(v, dict) for v in table.values()):
            (folder / path.name).write_bytes(path.read_bytes())
    return folder


def time_induction(path: Path, db: Path, repeats: int) -> None:
    """Time ``induce`` of every trajectory with the database, ``repeats`` times, with the load average."""
    traces = list(iter_traces([path]))
    for attempt in range(repeats):
        load = os.getloadavg()[0]
        started = time.perf_counter()
        induced = induce(traces, db=db)
        seconds = time.perf_counter() - started
        print(f"induce from all {len(traces)} trajectories with --db (run {attempt + 1}): {seconds:.1f} s "
              f"(target < 60 s; before the process sandbox 8.3 s, with a worker per replay 703 s); load average "
              f"{load:.1f}; {induced.report['examples_reproduced']}/{induced.report['examples_seen']} training "
              f"results reproduced")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data = ROOT.parent / "shared" / "datasets" / "tau-bench"
    parser.add_argument("--airline", type=Path, default=data / "gpt-4o-airline.json")
    parser.add_argument("--db", type=Path, default=data / "airline-db")
    parser.add_argument("--demo", type=Path, default=ROOT / "datasets" / "demo" / "traces.jsonl")
    parser.add_argument("--only", choices=("a", "b", "c", "time"), help="Run one part only.")
    parser.add_argument("--repeats", type=int, default=2, help="Timed inductions (the timing part).")
    parser.add_argument("--mismatches", action="store_true", help="Print a few mismatches of each fold.")
    options = parser.parse_args()
    global SHOW_MISSES
    SHOW_MISSES = options.mismatches
    if options.only in (None, "a"):
        count = len(list(iter_traces([options.airline])))
        with_db(options.airline, options.db, "airline", "a", count)
    if options.only in (None, "b"):
        traces_only(options.airline, options.db, "airline", "b")
    if options.only in (None, "c"):
        with tempfile.TemporaryDirectory() as tmp:
            db = demo_db(Path(tmp))
            count = len(list(iter_traces([options.demo])))
            with_db(options.demo, db, "demo", "c, demo", count)
            traces_only(options.demo, db, "demo", "c, demo")
    if options.only in (None, "time"):
        print()
        time_induction(options.airline, options.db, options.repeats)


if __name__ == "__main__":
    main()
