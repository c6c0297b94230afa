"""Filling a tool call's arguments slot by slot, arrays item by item, for the policy learner.

A call's arguments follow its JSON Schema: an object's properties in order; an array one item at a time, with a
learned "another item?" decision before each (conditioned on the best candidate the next item would start with,
so "is there another flight / passenger still to add" is read off the candidates); a leaf by scoring candidate
values (tokens of the instruction, leaves of earlier results, values seen in demonstrations or the schema's enum,
sums and remainders). Within an item, the records the item's earlier values came from are tracked, so a
passenger's last name and birth date come from the same record as the first name, and a flight's date can be the
argument of the search whose result listed that flight. Nothing here knows a domain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from clawloop_synth.learn.allowance import allowance_candidates, context_facts, unit_counts
from clawloop_synth.learn.features import SPLIT, Episode, cross, fits_type, flatten_args, hash_features, shape
from clawloop_synth.learn.items import MAX_ITEMS, Chunk, item_key, whole_items

__all__ = ["OMIT", "ArgFiller"]

OMIT = "<omit>"
_SIGNATURE = ("src=", "ininstr=", "earlierpath=", "used", "unused", "keyeq=", "keyov=")
_NONE = object()  # "no demonstration": choose, do not label

# pick(feature rows, target index or None) -> chosen index (-1: a forced target that is not a candidate)
Picker = Callable[[list[np.ndarray], "int | None"], int]


@dataclass
class _Item:
    """What one item (or the whole call, outside arrays) has chosen so far."""

    index: int = 0
    records: set[int] = field(default_factory=set)  # records the chosen values came from
    links: set[str] = field(default_factory=set)  # argument values of the calls that produced those records
    filled: dict[str, Any] = field(default_factory=dict)  # slot path -> chosen value
    earlier: dict[str, list[Any]] = field(default_factory=dict)  # slot path -> values of earlier items
    earlier_records: set[int] = field(default_factory=set)
    earlier_paths: dict[str, set[str]] = field(default_factory=dict)  # slot path -> result paths of those values
    paths: dict[str, set[str]] = field(default_factory=dict)
    arrays: dict[str, int] = field(default_factory=dict)  # array slot path -> items filled (this call so far)


class ArgFiller:
    """Fills one call's arguments (see the module docstring); ``pick`` makes or records each decision."""

    def __init__(self, ep: Episode, tool: str, consts: dict[str, list[Any]], pick: Picker) -> None:
        self.ep, self.tool, self.consts, self.pick = ep, tool, consts, pick
        self.leaves = ep.leaves()
        self.used: dict[str, str] = {}  # values earlier calls sent -> their parameter name
        for _, args in ep.calls:
            for p, v in flatten_args(args).items():
                self.used[item_key(v)] = p.split(".")[-1]
        self._open = ep.open_tokens()
        self._order: dict[str, dict[str, int]] = {}  # shape -> instruction token -> its rank among that shape
        for tok in ep.instr_tokens:
            ranks = self._order.setdefault(shape(tok), {})
            ranks.setdefault(tok, len(ranks))

    def fill(self, schema: dict[str, Any], target: Any = _NONE) -> dict[str, Any]:
        """The arguments; with ``target`` (a demonstration's arguments) every decision is labelled by it."""
        return self._object(schema, "", target, _Item())

    # ------------------------------------------------------------------------------------------ structure
    def _object(self, schema: dict[str, Any], prefix: str, target: Any, item: _Item) -> dict[str, Any]:
        out: dict[str, Any] = {}
        required = set(schema.get("required") or [])
        for name, sub in (schema.get("properties") or {}).items():
            path = f"{prefix}.{name}" if prefix else name
            sub = sub if isinstance(sub, dict) else {}
            sub_target = _NONE if target is _NONE else (target.get(name, OMIT) if isinstance(target, dict) else OMIT)
            kind = sub.get("type")
            if kind == "object" and sub.get("properties"):
                t = sub_target if sub_target is _NONE or isinstance(sub_target, dict) else {}
                value: Any = self._object(sub, path, t, item)
                if value:
                    out[name] = value
            elif kind == "array":
                raw = sub.get("items")
                t = sub_target if sub_target is _NONE or isinstance(sub_target, list) else []
                value = self._array(raw if isinstance(raw, dict) else {}, path + "[]", t, name in required)
                item.arrays[path] = len(value)
                if value or name in required:
                    out[name] = value
            else:
                value = self._leaf(path, sub, name in required, sub_target, item)
                if value is not OMIT:
                    out[name] = value
        return out

    def _array(self, items: dict[str, Any], path: str, target: Any, required: bool) -> list[Any]:
        out: list[Any] = []
        earlier: dict[str, list[Any]] = {}
        earlier_records: set[int] = set()
        earlier_paths: dict[str, set[str]] = {}
        is_object = items.get("type") == "object" and bool(items.get("properties"))
        chunks = whole_items(self.ep, items, self.tool, path) if is_object else []
        taken: list[int] = []  # the chunks earlier positions took
        j = 0
        while j < MAX_ITEMS:
            item = _Item(index=j, earlier=earlier, earlier_records=earlier_records, earlier_paths=earlier_paths)
            if j > 0 or not required:
                want = None if target is _NONE else int(j < len(target))
                if self.pick(self._more_feats(items, path, item, is_object), want) <= 0:
                    break
            if chunks:
                # a whole object (or run of objects) of an earlier result, or the item built slot by slot
                rest = None if target is _NONE else target[j:]
                k = self._chunk(chunks, path, j, taken, rest)
                if k >= 0:
                    taken.append(k)
                    for obj in chunks[k].items[: MAX_ITEMS - j]:
                        out.append(obj)
                        for name, v in obj.items():
                            earlier.setdefault(f"{path}.{name}", []).append(v)
                    j += len(chunks[k].items)
                    continue
            sub_target = _NONE if target is _NONE else target[j]
            if is_object:
                value: Any = self._object(items, path, sub_target if sub_target is _NONE or isinstance(
                    sub_target, dict) else {}, item)
            else:
                value = self._leaf(path, items, True, sub_target, item)
                if value is OMIT:
                    break
            out.append(value)
            for p, v in item.filled.items():
                earlier.setdefault(p, []).append(v)
            earlier_records |= item.records
            for p, ps in item.paths.items():
                earlier_paths.setdefault(p, set()).update(ps)
            j += 1
        return out

    def _chunk(self, chunks: list[Chunk], path: str, j: int, taken: list[int], target: Any) -> int:
        """Pick a chunk for the items from position ``j`` on, or -1: build the item slot by slot.

        Labelled by ``target`` (the demonstration's items from ``j`` on): the longest chunk it starts with."""
        want = None
        if target is not None and target is not _NONE:
            fits = [(len(c.items), i) for i, c in enumerate(chunks)
                    if i not in taken and item_key(target[: len(c.items)]) == item_key(c.items)]
            want = max(fits)[1] + 1 if fits else 0
        best: dict[str, int] = {}
        for c in chunks:
            best[c.source] = max(best.get(c.source, 0), c.match)
        top = max(best.values())
        top_hits: dict[str, int] = {}
        for c in chunks:
            top_hits[c.source] = max(top_hits.get(c.source, 0), len(c.hits))
        # the order the instruction names them in: a chunk's first mention of a value not every chunk of its
        # source shares, ranked among the chunks not taken yet
        pos = {i: c.mention(self.ep, chunks) for i, c in enumerate(chunks) if i not in taken}
        ranked = sorted((p, i) for i, p in pos.items() if p is not None)
        rank = {i: r for r, (_, i) in enumerate(ranked)}
        last = chunks[taken[-1]] if taken else None
        jj = min(j, 3)
        rows = [hash_features([f"G|{self.tool}.{path}|byslot", f"G|byslot|j={jj}", "G|byslot"]
                              + [f"G|byslot|w={w}" for w in self.ep.instr_words])]
        prefixes = hash_features(["G", f"G|{self.tool}.{path}", f"G|j={jj}"])
        for i, c in enumerate(chunks):
            base = [f"src={c.tool}{c.where}", f"n={min(len(c.items), 4)}", f"whole={c.whole}",
                    f"ago={min(c.ago, 3)}", f"m={min(c.match, 6)}", f"gap={min(best[c.source] - c.match, 3)}",
                    f"topgap={min(top - c.match, 3)}", f"taken={i in taken}", f"used={c.used(self.used)}",
                    f"order={min(rank.get(i, 9), 3) if i in rank else 'none'}"]
            if last is not None:
                base += [f"samecall={c.call == last.call}", f"latercall={c.call > last.call}",
                         f"samesrc={c.where == last.where}"]
            base += [f"{b}|m={min(c.match, 6)}" for b in base[:3]]
            # which of its keys the request names, and which it names another value for (the time asked for)
            base += [f"hit={k}" for k in c.hits] + [f"miss={k}" for k in c.misses]
            base += [f"nhit={min(len(c.hits), 6)}", f"hitgap={min(top_hits.get(c.source, 0) - len(c.hits), 3)}"]
            base += [f"w={w}|n={min(len(c.items), 4)}" for w in self.ep.instr_words]
            rows.append(cross(prefixes, hash_features(base)))
        return self.pick(rows, want) - 1

    def _more_feats(self, items: dict[str, Any], path: str, item: _Item, is_object: bool) -> list[np.ndarray]:
        """[stop, another item]: the second is described by what the values the next item could start with
        have in common (the features present among the ones no earlier item took): a bag that says whether a
        named value, or one more from the same list, is still left (it does not depend on the weights)."""
        j = min(item.index, 3)
        strs = [f"M|{self.tool}.{path}|j={j}", f"M|j={j}"] + [f"M|{path}|j={j}|w={w}" for w in self.ep.instr_words]
        first = next(iter(_leaf_slots(items, path)), None) if is_object else (path, items, True)
        if first is not None:
            values, _, bases, _, _ = self._candidates(first[0], first[1], True, item)
            present: set[str] = set()
            for base in bases:
                if "earlierval=True" not in base:  # one signature per value: where it comes from, whether named
                    present.add("&".join(b for b in base if b.startswith(_SIGNATURE)))
            strs += [f"M|has|{b}" for b in present] + [f"M|has|j={j}|{b}" for b in present]
        return [hash_features([f"M|{self.tool}.{path}|stop", "M|stop"]), hash_features(strs)]

    # ------------------------------------------------------------------------------------------ leaves
    def _leaf(self, path: str, schema: dict[str, Any], required: bool, target: Any, item: _Item) -> Any:
        values, feats, _, records, paths = self._candidates(path, schema, required, item)
        if not values:
            return OMIT
        want = None
        if target is not _NONE:
            k = item_key(target)
            want = next((i for i, v in enumerate(values) if item_key(v) == k), -1)
        i = self.pick(feats, want)
        # a forced target that is not a candidate: the item goes on with the target's value
        value = target if i < 0 else values[i]
        if value is OMIT:
            return OMIT
        item.filled[path] = value
        item.paths[path] = paths.get(item_key(value), set())
        recs = records.get(item_key(value), set())
        item.records |= recs
        for r in recs:
            call = self.ep.record_call[r] if r < len(self.ep.record_call) else -1
            if 0 <= call < len(self.ep.calls):
                item.links |= {item_key(v) for v in flatten_args(self.ep.calls[call][1]).values()}
        return value

    def _candidates(self, path: str, schema: dict[str, Any], required: bool, item: _Item
                    ) -> tuple[list[Any], list[np.ndarray], list[list[str]], dict[str, set[int]],
                               dict[str, set[str]]]:
        ep = self.ep
        pname = path.split(".")[-1].replace("[]", "")
        pparts = set(pname.lower().split("_")) - {"id", ""}
        cands: dict[str, tuple[Any, list[str]]] = {}
        recs: dict[str, set[int]] = {}
        where: dict[str, set[str]] = {}
        enum = schema.get("enum")

        def add(value: Any, feats: list[str], record: int | None = None, path_of: str | None = None) -> None:
            if value is None or (enum is not None and value not in enum) or not fits_type(schema, value):
                return
            key = item_key(value)
            if key in cands:
                cands[key][1].extend(feats)
            else:
                cands[key] = (value, list(feats))
            if record is not None:
                recs.setdefault(key, set()).add(record)
            if path_of is not None:
                where.setdefault(key, set()).add(path_of)

        for tok in ep.instr_tokens:
            prev = ep.instr_prev.get(tok, "<run>")
            rank = min(self._order.get(shape(tok), {}).get(tok, 0), 3)
            add(tok, ["src=instr", f"prevword={prev}", f"rank={rank}", f"rank={rank}|j={min(item.index, 3)}"])
            if tok.lstrip("-").isdigit():
                add(int(tok), ["src=instrnum", f"prevword={prev}"])
        matches = [ep.record_match[lf.record] for lf in self.leaves if fits_type(schema, lf.value)]
        best = max(matches, default=0)
        numeric = schema.get("type") in ("integer", "number")
        spent = sum(v for v in item.earlier.get(path, []) if isinstance(v, (int, float)) and not isinstance(v, bool))
        for lf in self.leaves:
            if not fits_type(schema, lf.value) or (enum is not None and lf.value not in enum):
                continue  # checked before the features are built: most leaves do not fit a given slot
            rm = ep.record_match[lf.record]
            kparts = set(lf.key.lower().replace("#key", "").split("_")) - {""}
            f = ["src=leaf", f"key={lf.key}", f"path={lf.tool}{lf.path}", f"ago={min(lf.ago, 3)}",
                 f"rm={min(rm, 4)}", f"rmgap={min(best - rm, 3)}",
                 f"keyeq={lf.key == pname}", f"keyov={bool(kparts & pparts)}"]
            add(lf.value, f, lf.record, f"{lf.tool}{lf.path}")
            is_num = isinstance(lf.value, (int, float)) and not isinstance(lf.value, bool)
            if numeric and is_num and lf.ago <= 2 and kparts & pparts:
                for tok in ep.instr_tokens:
                    if tok.isdigit():
                        add(lf.value + int(tok), ["src=sum", f"sumkey={lf.key}"] +
                            [f"sumw={w}" for w in ep.instr_words])
            if numeric and is_num and spent and lf.ago <= 1 and lf.value > spent:
                # what is left to pay once the earlier items' amounts are taken off a total
                add(lf.value - spent, ["src=rest", f"restkey={lf.key}"])
        if numeric and schema.get("type") == "integer" and any(
                isinstance(v, int) and not isinstance(v, bool) for v in item.filled.values()):
            units = unit_counts(ep, item.arrays)
            for value, f in allowance_candidates(item.filled, units, context_facts(ep, item.filled)):
                add(value, f)
        for value in list(self.consts.get(f"{self.tool}.{path}", [])) + list(enum or []):
            vparts = set(SPLIT.split(str(value).lower())) - {""}
            hit = len(vparts & ep.instr_parts) / max(len(vparts), 1)
            add(value, ["src=const", f"const={value}", f"ctok={round(hit, 1)}"])
        j = min(item.index, 3)
        prefixes = hash_features(["S", f"S|{pname}", f"S|{self.tool}.{path}", f"S|{pname}|j={j}"])
        earlier_vals = {item_key(v) for v in item.earlier.get(path, [])}
        open_toks = self._open
        values: list[Any] = []
        feats: list[np.ndarray] = []
        bases: list[list[str]] = []
        for key, (value, base) in cands.items():
            base = sorted(set(base))
            base += [f"shape={shape(value)}", f"ininstr={ep.in_instruction(value)}"]
            if key in self.used:
                base += ["used", f"usedsame={self.used[key] == pname}"]
            elif "src=leaf" in base:
                base.append("unused_leaf")
            if open_toks is not None and isinstance(value, str) and len(value) >= 3:
                # after a first write: whether the value is named by a clause no write has served yet
                named = value.lower() in open_toks
                base += [f"open={named}", f"open={named}|ininstr={ep.in_instruction(value)}"]
            rs = recs.get(key, set())
            if item.records:
                base.append(f"samerec={bool(rs & item.records)}")
            if item.links:
                base.append(f"link={key in item.links}")
            if item.index:
                base += [f"earlierval={key in earlier_vals}", f"earlierrec={bool(rs & item.earlier_records)}",
                         f"fresh={key not in earlier_vals}|ininstr={ep.in_instruction(value)}",
                         f"earlierpath={bool(where.get(key, set()) & item.earlier_paths.get(path, set()))}"]
            values.append(value)
            feats.append(cross(prefixes, hash_features(base)))
            bases.append(base)
        if not required:
            values.append(OMIT)
            feats.append(hash_features([f"S|{pname}|omit", f"S|{self.tool}.{path}|omit", "S|omit"]))
            bases.append(["omit"])
        return values, feats, bases, recs, where


def _leaf_slots(schema: dict[str, Any], prefix: str) -> list[tuple[str, dict[str, Any], bool]]:
    """The leaf slots of an object schema, in order (nested objects flattened; arrays skipped)."""
    out: list[tuple[str, dict[str, Any], bool]] = []
    required = set(schema.get("required") or [])
    for name, sub in (schema.get("properties") or {}).items():
        sub = sub if isinstance(sub, dict) else {}
        path = f"{prefix}.{name}"
        if sub.get("type") == "object" and sub.get("properties"):
            out += _leaf_slots(sub, path)
        elif sub.get("type") != "array":
            out.append((path, sub, name in required))
    return out
