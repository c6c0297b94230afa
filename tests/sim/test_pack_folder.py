"""A pack is a folder: load by name or path, write, load again; declarative searches and date windows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clawloop_synth.errors import InputError
from clawloop_synth.sim import SimEnv
from clawloop_synth.sim.gold import gold_tasks
from clawloop_synth.sim.pack import DomainPack, Search, load_pack, pack_names
from clawloop_synth.sim.pack_folder import shared_policy, write_pack
from clawloop_synth.sim.pack_rules import DateWindow, search_refs, trim_dates
from clawloop_synth.sim.replay import replay_traces
from tests.sim.airline_data import state, traces


def _same_pack(one: DomainPack, two: DomainPack) -> None:
    assert one.tools == two.tools
    for name in ("name", "description", "collections", "searches", "date_windows", "link_depth", "slice_depth",
                 "recorded_key_aliases", "key_fields", "globals", "distractors", "policy", "rules"):
        assert getattr(one, name) == getattr(two, name), name


def test_builtin_packs_are_folders_with_no_python_to_register() -> None:
    assert {"airline", "demo"} <= set(pack_names())
    demo = load_pack("demo")
    assert demo.folder is not None and (demo.folder / "pack.toml").is_file()
    assert demo.policy.startswith("You are the front-desk assistant")
    assert not list(demo.folder.rglob("__init__.py"))
    assert load_pack(demo.folder).tools == demo.tools  # the same folder by path


def test_airline_round_trip_keeps_tools_state_and_behaviour(tmp_path: Path, airline_db: Path,
                                                            airline_trajectories: Path) -> None:
    pack = load_pack("airline", airline_db)
    full = state(airline_db)
    write_pack(pack, tmp_path / "airline", full)
    again = load_pack(tmp_path / "airline")
    _same_pack(pack, again)
    assert again.db == tmp_path / "airline" / "state"
    assert again.load_state() == full
    # Behaviour: the same gold tasks (slices use searches, date windows and distractors) and the same replay.
    sample = [t for t in traces(airline_trajectories) if t.task_id in {"0", "3", "7", "12", "21"}]
    before, after = gold_tasks(sample, pack, full), gold_tasks(sample, again)
    assert [t.model_dump() for t in before] == [t.model_dump() for t in after] and len(before) == 5
    one, two = replay_traces(sample, pack, full), replay_traces(sample, again)
    assert (one.tool_results_equal, one.tool_results_total) == (two.tool_results_equal, two.tool_results_total)
    assert one.tool_results_total > 0


def test_demo_round_trip_keeps_globals_and_prelude(tmp_path: Path) -> None:
    pack = load_pack("demo")
    full = pack.load_state()
    write_pack(pack, tmp_path / "demo", full)
    again = load_pack(tmp_path / "demo")
    _same_pack(pack, again)
    assert again.load_state() == full
    assert json.loads((tmp_path / "demo" / "state" / "today.json").read_text()) == full["today"]
    calls = [("find_patient", {"name": next(iter(full["patients"].values()))["name"], "date_of_birth": "x"})]
    assert again.slice_state(full, calls, seed="s") == pack.slice_state(full, calls, seed="s")


def test_write_pack_removes_files_of_an_earlier_pack(tmp_path: Path) -> None:
    pack = load_pack("demo")
    write_pack(pack, tmp_path / "p", pack.load_state())
    (tmp_path / "p" / "handlers" / "gone.py").write_text("def invoke(state):\n    return 1\n")
    smaller = DomainPack(name="small", tools=pack.tools[:2], collections=("patients",))
    write_pack(smaller, tmp_path / "p")
    assert sorted(p.stem for p in (tmp_path / "p" / "handlers").glob("*.py")) == sorted(t.name for t in pack.tools[:2])
    assert not (tmp_path / "p" / "state").exists() or not list((tmp_path / "p" / "state").iterdir())
    assert not (tmp_path / "p" / "policy.md").exists()
    assert load_pack(tmp_path / "p").tools == pack.tools[:2]


def _tiny_pack(folder: Path, toml: str) -> Path:
    (folder / "handlers").mkdir(parents=True)
    (folder / "pack.toml").write_text(toml)
    tool = {"type": "function", "function": {"name": "ping", "description": "Ping.",
                                             "parameters": {"type": "object", "properties": {}}}}
    (folder / "tools.json").write_text(json.dumps([tool]))
    (folder / "handlers" / "ping.py").write_text("def invoke(state):\n    return 'pong'\n")
    return folder


@pytest.mark.parametrize(("toml", "field"), [
    ('name = "x"\ncolour = "red"\n', "colour"),
    ('name = "x"\n[collections.a]\nkey = "id"\nindex = 1\n', "collections.a.index"),
    ('name = "x"\n[[searches]]\ntool = "ping"\ncollection = "a"\nfuzzy = true\n', "searches[0].fuzzy"),
    ('name = "x"\nwrites = ["pong"]\n', "writes"),
    ('name = "x"\nlink_depth = "two"\n', "link_depth"),
    ('description = "no name"\n', "name"),
])
def test_bad_pack_toml_names_the_file_and_field(tmp_path: Path, toml: str, field: str) -> None:
    folder = _tiny_pack(tmp_path / "p", toml)
    with pytest.raises(InputError) as info:
        load_pack(folder)
    assert info.value.file == str(folder / "pack.toml") and info.value.field == field


def test_unknown_name_and_non_pack_folder_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown domain pack 'retail'"):
        load_pack("retail")
    with pytest.raises(InputError, match="no pack.toml"):
        load_pack(tmp_path)


def test_policy_option_takes_the_traces_shared_system_prompt(airline_trajectories: Path) -> None:
    records = traces(airline_trajectories)
    shared = shared_policy(records)
    first_system = next(m.content for m in records[0].messages if m.role == "system")
    assert shared and shared == (first_system or "").strip()
    pack = load_pack("airline", policy=shared)
    assert pack.policy == shared != load_pack("airline").policy
    assert shared_policy([]) == ""


def test_chain_search_touches_exactly_the_entities_of_some_chain() -> None:
    legs = {
        "L1": {"from": "A", "to": "B"}, "L2": {"from": "B", "to": "C"},  # A -> B -> C
        "L3": {"from": "A", "to": "D"},  # D leads nowhere near C
        "L4": {"from": "E", "to": "C"},  # E is not reachable from A
        "L5": {"from": "A", "to": "C"},  # direct: not a two-leg chain
        "L6": {"from": "A", "to": "F"}, "L7": {"from": "F", "to": "C"},  # A -> F -> C
    }
    state = {"legs": legs}
    two = Search(tool="t", collection="legs", hops=2, first={"from": "origin"}, last={"to": "destination"},
                 link={"to": "from"})
    assert search_refs(state, two, {"origin": "A", "destination": "C"}) == {"legs": {"L1", "L2", "L6", "L7"}}
    assert search_refs(state, two, {"origin": "C", "destination": "A"}) == {}
    direct = Search(tool="t", collection="legs", match={"from": "origin", "to": "destination"})
    assert search_refs(state, direct, {"origin": "A", "destination": "C"}) == {"legs": {"L5"}}
    folded = Search(tool="t", collection="people", match={"name": "name"}, fold=True)
    people = {"people": {"p1": {"name": "Ana  Ruiz"}, "p2": {"name": "ana ruiz"}, "p3": {"name": "Ann Ruiz"}}}
    assert search_refs(people, folded, {"name": "ANA RUIZ"}) == {"people": {"p1", "p2"}}


def test_date_window_keeps_days_near_the_calls_dates() -> None:
    sliced = {"rooms": {"r1": {"days": {"2024-05-0" + str(d): d for d in range(1, 10)}, "name": "x"}}}
    trim_dates(sliced, DateWindow(collection="rooms", field="days", days=1), [("book", {"on": "2024-05-05"})])
    assert sorted(sliced["rooms"]["r1"]["days"]) == ["2024-05-04", "2024-05-05", "2024-05-06"]


def test_globals_travel_whole_and_are_copied_for_a_run() -> None:
    pack = load_pack("demo")
    full = pack.load_state()
    copy = pack.working_copy(full, {})
    copy["service"]["outages"]["x"] = 1  # a handler's write to a global must not reach the base state
    assert "x" not in full["service"]["outages"]


def test_gold_and_demo_tasks_carry_the_pack_policy(airline_trajectories: Path, airline_db: Path) -> None:
    from clawloop_synth.demo import build_demo_tasks

    demo = build_demo_tasks(2, seed=0)
    assert all(t.policy == load_pack("demo").policy for t in demo)
    sample = [t for t in traces(airline_trajectories) if t.task_id == "0"]
    (task,) = gold_tasks(sample, load_pack("airline"), state(airline_db))
    assert task.policy == load_pack("airline").policy and SimEnv(task).reset() is not None


def test_a_folder_named_like_a_builtin_does_not_shadow_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo").mkdir()  # e.g. a run directory called demo: not a pack
    assert load_pack("demo").name == "demo"
    write_pack(load_pack("demo"), tmp_path / "mine")
    assert load_pack("mine").folder == Path("mine")  # a pack folder here is read by its relative path


def test_rule_prelude_gives_every_rule_the_packs_shared_helpers(tmp_path: Path) -> None:
    from clawloop_synth.sim.rules import RuleSet, pack_rules

    pack = load_pack("demo")
    folder = write_pack(pack, tmp_path / "p", pack.load_state())
    (folder / "lib").mkdir(exist_ok=True)
    (folder / "lib" / "limits.py").write_text("MAX = 2\n\n\ndef too_many(call):\n    return len(call['arguments']) > MAX\n")
    for name in ("a", "b"):
        (folder / "rules" / f"{name}.py").write_text(
            f"def check(state, call):\n    return 'rule {name}: too many arguments' if too_many(call) else None\n")
    toml = folder / "pack.toml"
    toml.write_text('rule_prelude = ["lib/limits.py"]\n' + toml.read_text())
    rules = RuleSet(pack_rules(load_pack(folder)))
    broken = rules.check({}, "x", {"one": 1, "two": 2, "three": 3}, step=0)
    assert sorted(v.message for v in broken) == ["rule a: too many arguments", "rule b: too many arguments"]
    assert rules.check({}, "x", {"one": 1}, step=0) == []
    toml.write_text('rule_prelude = ["lib/missing.py"]\n' + toml.read_text().split("\n", 1)[1])
    with pytest.raises(InputError, match="missing.py"):
        load_pack(folder)
