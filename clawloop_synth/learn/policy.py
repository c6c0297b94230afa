"""The ``policy`` learner: a linear scorer over hashed generic features, trained by imitation then REINFORCE.

At each turn it scores the candidate next actions (every tool, or finishing); for a tool it fills each leaf slot
of the tool's JSON Schema by scoring candidate values (tokens of the instruction, leaves of earlier results,
values seen in demonstrations or the schema's enum, sums of a result number and an instruction number, or
omitting an optional slot); when it finishes it composes the answer from the result leaves it scores as worth
reporting. One weight vector serves all three decisions (their features are prefixed apart).

Training: softmax cross-entropy on the decisions of the training tasks' reference runs (replayed through the
simulator, so the candidates are the ones the policy itself would see), then REINFORCE with a per-task baseline
on its own sampled rollouts' rewards, with the imitation data replayed between passes to keep it anchored.
Numpy only, CPU, seconds to minutes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from clawloop_synth.learn.args import ArgFiller
from clawloop_synth.learn.facts import extreme_records, sums
from clawloop_synth.learn.features import DIM, SPLIT, Episode, Leaf, hash_features, in_answer, shape
from clawloop_synth.learn.linear import Decision, score, softmax, update
from clawloop_synth.learn.protocol import AgentEnv, TrainRunner
from clawloop_synth.learn.view import TaskView
from clawloop_synth.types import Rollout

__all__ = ["PolicyConfig", "PolicyLearner"]

FINISH = "<finish>"


@dataclass
class PolicyConfig:
    """Hyperparameters, in one place."""

    imitation_epochs: int = 6
    lr: float = 0.3
    rl_epochs: int = 2
    rl_lr: float = 0.1
    temperature: float = 1.0
    max_calls: int = 10
    answer_cap: int = 6
    dagger: bool = True  # DAgger recovery labels on failed writes and wrong reads (doubles the imitation time)
    explore_reads: int = 3  # DAgger: the policy's own wrong lookups run per demonstration, at most
    seed: int = 0


@dataclass
class _Trace:
    decisions: list[Decision] = field(default_factory=list)
    missed: int = 0


class PolicyLearner:
    """A learned tool-use policy (see the module docstring)."""

    name = "policy"

    def __init__(self, config: PolicyConfig | None = None) -> None:
        self.config = config or PolicyConfig()
        self.w = np.zeros(DIM)
        self.consts: dict[str, list[Any]] = {}
        self.rng = np.random.default_rng(self.config.seed)
        self.stats: dict[str, Any] = {}
        self._mode = "greedy"  # "greedy" | "sample" | "force"
        self._dagger = False
        self._trace: _Trace | None = None
        self._data: list[Decision] = []  # every imitation decision collected so far (train may be called again)

    # ---------------------------------------------------------------------------------------- scoring
    def _score(self, feats: list[np.ndarray]) -> np.ndarray:
        return score(self.w, feats)

    def _pick(self, feats: list[np.ndarray], target: int | None) -> int:
        """Choose among candidates (or record the forced target); -1 when a forced target is not a candidate."""
        if self._mode == "force":
            if target is None or target < 0:
                if self._trace is not None:
                    self._trace.missed += 1
                return -1
            if self._trace is not None:
                self._trace.decisions.append(Decision("pick", feats, target))
            return target
        scores = self._score(feats)
        if self._mode == "sample":
            choice = int(self.rng.choice(len(feats), p=softmax(scores, self.config.temperature)))
            if self._trace is not None:
                self._trace.decisions.append(Decision("pick", feats, choice))
            return choice
        return int(np.argmax(scores))

    # ---------------------------------------------------------------------------------------- features
    def _action_feats(self, ep: Episode, view: TaskView) -> tuple[list[str], list[np.ndarray]]:
        names = [t["function"]["name"] for t in view.tools] + [FINISH]
        prev = ep.calls[-1][0] if ep.calls else "<start>"
        called = {c for c, _ in ep.calls}
        writes_done = sum(1 for c, _ in ep.calls if ep.writes.get(c))
        last_err = bool(ep.results) and ep.results[-1][2]
        leaves = ep.leaves()
        last_rm = max((ep.record_match[lf.record] for lf in leaves if lf.ago == 0), default=0)
        best_rm = max(ep.record_match, default=0)
        # progress over a request of several parts: the instruction's ids no call (no write) has sent yet
        sent = " ".join(json.dumps(a) for _, a in ep.calls)
        written = " ".join(json.dumps(a) for c, a in ep.calls if ep.writes.get(c))
        ids = {t for t in ep.instr_tokens if len(t) >= 5 and any(ch.isdigit() for ch in t)}
        unsent = min(sum(1 for t in ids if t not in sent), 3)
        unwritten = min(sum(1 for t in ids if t not in written), 3)
        # the kinds of the instruction's ids no call has sent yet (a return date still to search)
        unsent_shapes = sorted({shape(t) for t in ids if t not in sent})[:8]
        # what the results say in words (a cabin, a status, a yes/no): the facts a refusal turns on
        cats = sorted({f"{lf.key}={lf.value}" for lf in leaves if isinstance(lf.value, str) and len(lf.value) <= 24
                       and not lf.key.startswith("txt:") and not any(ch.isdigit() for ch in lf.value)})[:48]
        open_words = ep.unserved()
        n_open = min(len(open_words), 3)
        open_set = set().union(*open_words) if open_words else set()
        open_list = sorted(open_set)[:40]
        feats = []
        for c in names:
            count = sum(1 for x, _ in ep.calls if x == c)
            cw = "w" if ep.writes.get(c) else "r" if c != FINISH else "f"
            n = min(count, 2)
            base = [f"c={c}", f"prev={prev}", f"n={n}", f"step={min(len(ep.calls), 6)}",
                    f"wd={min(writes_done, 2)}", f"err={last_err}", f"kind={cw}|wd={min(writes_done, 2)}",
                    f"kind={cw}|n={n}", f"unsent={unsent}", f"unwritten={unwritten}",
                    f"unwritten={unwritten}|wd={min(writes_done, 2)}", f"err={last_err}|n={n}"]
            base += [f"called={x}" for x in called]
            name_parts = set(SPLIT.split(c.lower())) - {""}
            overlap = len(name_parts & ep.instr_parts)
            base.append(f"nameov={min(overlap, 2)}")
            base += [f"lastrm={min(last_rm, 5)}", f"bestrm={min(best_rm, 5)}", f"prev={prev}|lastrm={min(last_rm, 5)}"]
            base.append(f"kind={cw}|nameov={min(overlap, 2)}")
            # the clauses no write has served yet: a second request's tool shares their words
            open_ov = min(len(name_parts & open_set), 2)
            base += [f"open={n_open}", f"open={n_open}|wd={min(writes_done, 2)}", f"openov={open_ov}",
                     f"openov={open_ov}|n={n}", f"openov={open_ov}|open={n_open}"]
            strs = [f"A|{c}|{b}" for b in base] + [f"A|{b}|kind={cw}" for b in base[1:]]
            strs += [f"A|{c}|w={w}" for w in ep.instr_words] + [f"A|{c}|n={n}|w={w}" for w in ep.instr_words]
            strs += [f"A|{c}|ow={w}|wd={min(writes_done, 2)}" for w in open_list]
            strs += [f"A|{c}|cat={x}" for x in cats] + [f"A|kind={cw}|cat={x}" for x in cats]
            strs += [f"A|{c}|us={x}" for x in unsent_shapes] + [f"A|{c}|us={x}|prev={prev}" for x in unsent_shapes]
            feats.append(hash_features(strs))
        return names, feats

    def _answer_feats(self, ep: Episode) -> tuple[list[Any], list[np.ndarray], list[Leaf]]:
        """One candidate per distinct value; a value listed in several places (a total an error stated and the
        write's result repeats, the cheapest fare beside an unrelated count) has the features of them all."""
        merged: dict[str, tuple[Any, set[str], Leaf]] = {}
        extremes = extreme_records(ep.leaves())
        words = ep.instr_parts
        for lf in ep.leaves() + sums(ep.leaves()):
            writes = ep.writes.get(lf.tool, False)
            # free text (errors) is not a fact to report, but for a number it names (a total the system computed);
            # reads from long ago are stale, but what a write returned stays news (a first request's outcome)
            if lf.ago > 3 and not writes or lf.key.startswith("txt:") and not isinstance(lf.value, int):
                continue
            base = [f"key={lf.key}", f"path={lf.tool}{lf.path}", f"ago={lf.ago}", f"write={writes}",
                    f"ininstr={ep.in_instruction(lf.value)}", f"shape={shape(lf.value)}",
                    f"write={writes}|key={lf.key}", f"ago={lf.ago}|key={lf.key}"]
            strs = [f"R|{b}" for b in base] + [f"R|w={w}|key={lf.key}" for w in ep.instr_words]
            for ext in extremes.get(lf.record, ()):  # the record holding the least / most of some number
                # whether the instruction names the number's key ("the cheapest economy fare": min of .economy);
                # an extreme of a key it does not name is a coincidence, kept apart and not told by path
                side, _, where = ext.partition("=")
                named = bool(set(SPLIT.split(where.rsplit(".", 1)[-1].lower())) - {""} <= words)
                # whether this leaf is the extreme value itself (its full path), not a namesake elsewhere in the record
                own = where == f"{lf.tool}{lf.path}"
                if named:
                    strs += [f"R|{ext}|key={lf.key}", f"R|{ext}"] + [f"R|w={w}|{ext}" for w in ep.instr_words]
                strs += [f"R|{side}|extin={named}", f"R|{side}|extin={named}|key={lf.key}",
                         f"R|{side}|extin={named}|self={own}"]
                strs += [f"R|w={w}|{side}|extin={named}" for w in ep.instr_words]
                strs += [f"R|w={w}|{side}|extin={named}|self={own}" for w in ep.instr_words]
            key = json.dumps(lf.value)
            if key in merged:
                merged[key][1].update(strs)
            else:
                merged[key] = (lf.value, set(strs), lf)
        values = [v for v, _, _ in merged.values()]
        feats = [hash_features(sorted(strs)) for _, strs, _ in merged.values()]
        kept = [lf for _, _, lf in merged.values()]
        return values, feats, kept

    # ---------------------------------------------------------------------------------------- episode
    def play(self, task: TaskView, env: AgentEnv) -> Rollout:
        tools = {t["function"]["name"]: t["function"] for t in task.tools}
        ep = Episode(task.instruction, tools, dict(task.tool_writes))
        demo = task.demonstration if self._mode == "force" else None
        explored = 0
        for k in range(self.config.max_calls + 1):
            names, feats = self._action_feats(ep, task)
            if demo is not None:
                want = demo.calls[k].name if k < len(demo.calls) else FINISH
                choice = self._pick(feats, names.index(want) if want in names else None)
                if choice < 0:
                    break
            else:
                choice = self._pick(feats, None)
            name = names[choice]
            if name == FINISH or k == self.config.max_calls:
                break
            schema = tools[name].get("parameters") or {}
            filled = self._filler(ep, name).fill(schema, demo.calls[k].arguments) if demo is not None \
                else self._filler(ep, name).fill(schema)
            if demo is not None and self._dagger and ep.writes.get(name):
                own = self._own_arguments(ep, name, schema)
                if own != demo.calls[k].arguments:
                    content, is_error = env.step(name, own)
                    ep.add(name, own, content, is_error)
                    if not is_error:  # the state has moved off the demonstration: stop collecting here
                        break
                    # the recovery is labelled by the demonstration: the same tool, its arguments
                    self._relabel(ep, task, names, name, schema, demo.calls[k].arguments)
            if demo is not None and self._dagger and not ep.writes.get(name) and explored < self.config.explore_reads:
                # DAgger on reads: a read changes nothing, so the policy's own (wrong) lookup is run and the
                # demonstration labels what follows it (look again, with the value it had not tried yet)
                own = self._own_arguments(ep, name, schema)
                if own != demo.calls[k].arguments and (name, own) not in ep.calls:
                    content, is_error = env.step(name, own)
                    ep.add(name, own, content, is_error)
                    explored += 1
                    self._relabel(ep, task, names, name, schema, demo.calls[k].arguments)
            args = demo.calls[k].arguments if demo is not None else filled
            content, is_error = env.step(name, args)
            ep.add(name, args, content, is_error)
        return env.finish(self._answer(ep, demo.answer if demo is not None else None))

    def _filler(self, ep: Episode, name: str) -> ArgFiller:
        return ArgFiller(ep, name, self.consts, self._pick)

    def _relabel(self, ep: Episode, task: TaskView, names: list[str], name: str, schema: dict[str, Any],
                 target: dict[str, Any]) -> None:
        """Record the demonstration's call ``name`` (and its arguments) as the labels in the current state."""
        _, feats = self._action_feats(ep, task)
        self._pick(feats, names.index(name))
        self._filler(ep, name).fill(schema, target)

    def _own_arguments(self, ep: Episode, name: str, schema: dict[str, Any]) -> dict[str, Any]:
        """What the current policy would send (greedy), for DAgger-style recovery labels."""
        mode, trace = self._mode, self._trace
        self._mode, self._trace = "greedy", None
        try:
            return self._filler(ep, name).fill(schema)
        finally:
            self._mode, self._trace = mode, trace

    def _answer(self, ep: Episode, target: str | None) -> str:
        values, feats, kept = self._answer_feats(ep)
        if not values:
            return "Done."
        if self._mode == "force" and target is not None:
            labels = [int(in_answer(v, target)) for v in values]
            if self._trace is not None:
                self._trace.decisions.append(Decision("bern", feats, labels))
            chosen = [i for i, y in enumerate(labels) if y]
        else:
            p = 1.0 / (1.0 + np.exp(-self._score(feats)))
            if self._mode == "sample":
                draws = (self.rng.random(len(p)) < p).astype(int)
                if self._trace is not None:
                    self._trace.decisions.append(Decision("bern", feats, draws.tolist()))
                chosen = [int(i) for i in np.flatnonzero(draws)]
            else:
                chosen = [int(i) for i in np.argsort(-p) if p[i] > 0.5]
            chosen = chosen[: self.config.answer_cap] or [int(np.argmax(p))]
        parts = [f"{kept[i].key.replace('_', ' ')}: {values[i]}" for i in chosen]
        return "Done. " + "; ".join(parts) + "."

    # ---------------------------------------------------------------------------------------- training
    def _update(self, decisions: Sequence[Decision], lr: float, advantage: float = 1.0) -> None:
        update(self.w, decisions, lr, advantage)

    def _collect_constants(self, tasks: Sequence[TaskView]) -> None:
        numbers: dict[tuple[str, float], int] = {}
        for view in tasks:
            if view.demonstration is None:
                continue
            for call in view.demonstration.calls:
                for path, value in _all_leaves(call.arguments):
                    slot = f"{call.name}.{path}"
                    if isinstance(value, (str, bool)) or value in (0, 1):
                        bucket = self.consts.setdefault(slot, [])
                        if value not in bucket and len(bucket) < 12:
                            bucket.append(value)
                    elif isinstance(value, (int, float)):
                        # a number a slot takes again and again (a fixed compensation) is a constant too
                        numbers[(slot, value)] = numbers.get((slot, value), 0) + 1
                        bucket = self.consts.setdefault(slot, [])
                        if numbers[(slot, value)] == 3 and value not in bucket and len(bucket) < 12:
                            bucket.append(value)

    def train(self, tasks: Sequence[TaskView], runner: TrainRunner | None = None) -> None:
        """Imitate the demonstrations, then reinforce on sampled rollouts (both need ``runner``)."""
        if runner is None:
            raise ValueError("the policy learner trains in the simulator: pass a runner")
        cfg = self.config
        tasks = [t for t in tasks if t.demonstration is not None]
        self._collect_constants(tasks)
        # A later call continues: the imitation data of earlier calls is kept and replayed with the new
        data: list[Decision] = self._data
        missed = 0
        self._mode = "force"
        try:
            for view in tasks:
                self._trace = _Trace()
                runner(view, self, 0)
                data.extend(self._trace.decisions)
                missed += self._trace.missed
        finally:
            self._mode, self._trace = "greedy", None
        order = np.arange(len(data))
        for epoch in range(cfg.imitation_epochs):
            self.rng.shuffle(order)
            self._update([data[i] for i in order], cfg.lr / (1 + epoch))
        if cfg.dagger:
            # DAgger on writes: where the policy's own write fails, the demonstration labels the recovery
            recovery: list[Decision] = []
            self._mode, self._dagger = "force", True
            try:
                for view in tasks:
                    self._trace = _Trace()
                    runner(view, self, 0)
                    recovery.extend(self._trace.decisions)
            finally:
                self._mode, self._trace, self._dagger = "greedy", None, False
            data.extend(recovery)
            order = np.arange(len(data))
            for epoch in range(cfg.imitation_epochs):
                self.rng.shuffle(order)
                self._update([data[i] for i in order], cfg.lr / (1 + epoch))
        baseline: dict[str, float] = {}
        rewards: list[float] = []
        for epoch in range(cfg.rl_epochs):
            idx = self.rng.permutation(len(tasks))
            for i in idx:
                view = tasks[i]
                self._mode, self._trace = "sample", _Trace()
                try:
                    rollout = runner(view, self, 1 + epoch)
                finally:
                    trace, self._mode, self._trace = self._trace, "greedy", None
                reward = float(rollout.reward or 0.0)
                rewards.append(reward)
                b = baseline.get(view.id, float(np.mean(rewards)))
                self._update(trace.decisions, cfg.rl_lr, reward - b)
                baseline[view.id] = 0.5 * b + 0.5 * reward
            self._update([data[i] for i in self.rng.permutation(len(data))], cfg.lr / (2 + epoch))
        picks = [d for d in data if d.kind == "pick"]
        fit = float(np.mean([int(np.argmax(self._score(d.feats))) == d.target for d in picks])) if picks else None
        self.stats = {"tasks": len(tasks), "imitation_decisions": len(data), "imitation_missed": missed,
                      "imitation_fit": None if fit is None else round(fit, 4),
                      "rl_episodes": len(rewards), "rl_mean_reward": round(float(np.mean(rewards)), 4)
                      if rewards else None}


def _all_leaves(args: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Every leaf of a call's arguments as (slot path, value), every item of an array (paths as in args.py)."""
    out: list[tuple[str, Any]] = []
    if isinstance(args, dict):
        for k, v in args.items():
            out += _all_leaves(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(args, list):
        for v in args:
            out += _all_leaves(v, prefix + "[]")
    else:
        out.append((prefix, args))
    return out
