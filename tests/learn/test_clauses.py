"""The policy's clause coverage: after a write, which clauses of the request no write has served yet."""

from clawloop_synth.learn.features import Episode


def _ep(instruction: str) -> Episode:
    return Episode(instruction, tools={}, writes={"close_ticket": True, "open_ticket": True, "find": False})


def test_a_write_sending_a_clause_id_serves_that_clause_only() -> None:
    ep = _ep("Close ticket TK4411. Then move order OR9920 to priority.")
    assert len(ep.unserved()) == 2
    ep.add("find", {"id": "OR9920"}, "{}", False)  # a read serves nothing
    assert len(ep.unserved()) == 2
    ep.add("close_ticket", {"id": "TK4411"}, '{"ok": true}', False)
    left = ep.unserved()
    assert len(left) == 1 and "priority" in left[0]


def test_a_failed_write_serves_nothing_and_a_clause_without_ids_is_served_by_the_tool_name() -> None:
    ep = _ep("Open a ticket for my lost bag, and also close the old account.")
    ep.add("open_ticket", {"note": "bag"}, "error", True)
    assert len(ep.unserved()) == 2
    ep.add("open_ticket", {"note": "bag"}, '{"ok": true}', False)
    left = ep.unserved()
    assert len(left) == 1 and "account" in left[0]
