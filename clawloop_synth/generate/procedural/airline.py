"""Airline knowledge for the procedural generator: the request kinds of real airline traffic.

A task is one or two requests (:mod:`.airline_kinds`) of one user: bookings (direct, round trip, one
stop), cancellations, flight and cabin changes, bags, passenger changes, compensation certificates,
and the requests where the right move is no write at all: refusals of what the pack's rules forbid
(the failure exemplar complies), a transfer to a human agent, questions answered from lookups. Which
kinds are drawn depends on the failure the task is for: a complying agent is the extra action of a
forbidden request, a needless handoff is shown best where no write is due, a dropped change needs
several requested changes (every such task has two), a forgotten answer a change with a question in
passing, a wrong sum a booking split between a gift card short of the price and a card; elsewhere
a quarter of the tasks with writes have two.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from clawloop_synth.generate.procedural.airline_asks import NO_WRITE_KINDS
from clawloop_synth.generate.procedural.airline_kinds import SPLIT_KINDS, WRITE_KINDS
from clawloop_synth.generate.procedural.airline_parts import Part, Shop, _flight_choice, method_label
from clawloop_synth.generate.procedural.base import BaseTask, KitContext, Scenario, base_from_scenario
from clawloop_synth.generate.procedural.shares import REFUSALS_FOR, no_write_share, two_writes_share
from clawloop_synth.sim.rules import RuleSet, pack_rules

__all__ = ["AirlineKit", "_flight_choice", "compose", "method_label"]

_DISTRACTORS = 2
_HELLO = [
    "Hi, I'm {name} and my user id is {user_id}.",
    "Hello! This is {name} (user id {user_id}).",
    "Good morning, {name} here; my customer id is {user_id}.",
    "Hey there. My name is {name}, user {user_id}.",
]
_JOIN = ["Also: ", "One more thing. ", "And then: ", "Second, "]
# Elsewhere (codes ``shares.py`` does not list): most codes' situations need a write (a first choice that
# fails, a twin of the entity a write names), so few no-write draws survive for them; this share keeps the
# run's no-write share over a fifth when the floor spreads the tasks over more clusters.
_NO_WRITE_DEFAULT = 0.3
_TWO_WRITES_DEFAULT = 0.25  # of the tasks with writes, those with two requested changes
_USERS_PER_KIND = 8


def _name(user: dict[str, Any]) -> str:
    return f"{user['name']['first_name']} {user['name']['last_name']}"


class AirlineKit:
    """Sample airline requests for random users, allowed by the pack's rules or refused per them."""

    domain = "airline"

    def __init__(self) -> None:
        self._shop: Shop | None = None

    def _shop_for(self, ctx: KitContext) -> Shop:
        if self._shop is None or self._shop.state is not ctx.state:
            self._shop = Shop(ctx.state, RuleSet(pack_rules(ctx.pack)))
        return self._shop

    def base_tasks(self, ctx: KitContext, rng: random.Random) -> Iterator[BaseTask | str]:
        shop = self._shop_for(ctx)
        users = sorted(ctx.state["users"])
        no_write = no_write_share(ctx.target_code, _NO_WRITE_DEFAULT)
        refusals = ctx.target_code in REFUSALS_FOR
        two = two_writes_share(ctx.target_code, _TWO_WRITES_DEFAULT)
        side_question = ctx.target_code == "agent/reasoning/missing_output"
        writes = SPLIT_KINDS if ctx.target_code == "agent/reasoning/calculation_error" else WRITE_KINDS
        while True:
            scenario = self._scenario(shop, rng, users, no_write, refusals, two, side_question, writes)
            if isinstance(scenario, str):
                yield scenario
                continue
            yield base_from_scenario(ctx, scenario, _DISTRACTORS, seed=f"{scenario.given['user_id']}:{rng.random()}")

    def _first(self, shop: Shop, rng: random.Random, users: list[str], kinds: dict[str, Any]) -> tuple[str, Part | str]:
        """A request of the drawn kind from one of a few random users (many users have no reservation that fits)."""
        name = rng.choice(sorted(kinds))
        part: Part | str = f"{name}: no user"
        user_id = users[0]
        for _ in range(_USERS_PER_KIND):
            user_id = rng.choice(users)
            part = kinds[name](shop, rng, user_id)
            if isinstance(part, Part):
                break
        return user_id, part

    def _scenario(self, shop: Shop, rng: random.Random, users: list[str], no_write: float,
                  refusals: bool, two: float, side_question: bool, writes: dict[str, Any]) -> Scenario | str:
        if side_question:  # a change and a question in passing (the answer an agent forgets)
            user_id, first = self._first(shop, rng, users, WRITE_KINDS)
            asks = {k: f for k, f in NO_WRITE_KINDS.items() if k.startswith("answer")}
            second: Part | str = "side question: none fits"
            if isinstance(first, Part):
                for _ in range(3):
                    second = asks[rng.choice(sorted(asks))](shop, rng, user_id)
                    if isinstance(second, Part) and second.reservation != first.reservation:
                        break
            return compose(shop, rng, user_id, [first, second])
        if refusals:
            kinds = {k: f for k, f in NO_WRITE_KINDS.items() if k.startswith(("refusal", "transfer"))}
        else:
            kinds = NO_WRITE_KINDS if rng.random() < no_write else writes
        user_id, first = self._first(shop, rng, users, kinds)
        parts: list[Part | str] = [first]
        if kinds is not NO_WRITE_KINDS and rng.random() < two:
            for _ in range(3):
                second = WRITE_KINDS[rng.choice(sorted(WRITE_KINDS))](shop, rng, user_id)
                if isinstance(second, Part) and second.reservation not in {first.reservation
                                                                           if isinstance(first, Part) else None}:
                    parts.append(second)
                    break
        return compose(shop, rng, user_id, parts)


def compose(shop: Shop, rng: random.Random, user_id: str, parts: list[Part | str]) -> Scenario | str:
    """One user's requests joined into a scenario (a string: why not)."""
    user = shop.state["users"][user_id]
    problem = next((p for p in parts if isinstance(p, str)), None)
    if problem is not None:
        return problem
    chosen = [p for p in parts if isinstance(p, Part)]
    touched = [p.reservation for p in chosen if p.reservation]
    if len(touched) != len(set(touched)):
        return "two requests on one reservation"
    hello = rng.choice(_HELLO).format(name=_name(user), user_id=user_id)
    sentences = [hello, chosen[0].text]
    for part in chosen[1:]:
        join = rng.choice(_JOIN)
        sentences.append(join + (part.text if join.endswith(". ") else part.text[:1].lower() + part.text[1:]))
    text = " ".join(sentences)
    given: dict[str, Any] = {"user_id": user_id}
    labels: dict[str, str] = {}
    for part in chosen:
        given.update(part.given)
        labels.update(part.labels)
    counts = [len(p.writes) for p in chosen]

    def finish(values: list[Any]) -> tuple[str, list[str]]:
        answers, outputs, start = [], [], 0
        for part, n in zip(chosen, counts, strict=True):
            answer, needed = part.finish(values[start:start + n])
            answers.append(answer)
            outputs += needed
            start += n
        return " ".join(answers), list(dict.fromkeys(outputs))

    refusal = next((p for p in chosen if p.forbidden is not None), None)
    kind = " + ".join(p.kind for p in chosen)
    return Scenario(kind, [w for p in chosen for w in p.writes], given, text, finish, labels=labels,
                    constraints=[c for p in chosen for c in p.constraints],
                    reads=[r for p in chosen for r in p.reads],
                    forbidden=refusal.forbidden if refusal else None,
                    complied=refusal.complied if refusal else "")
