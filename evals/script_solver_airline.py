"""Solvers the gate does not use, on a work directory's airline tasks: a rule-based script, always-refuse,
always-transfer, beside the gate's own shortcut agent.

    python evals/script_solver_airline.py W [--show 5]

The script has no model: it reads each request of the instruction by its wording (regular expressions
for cancellations, bags, bookings direct, round trip and one stop, flight and cabin changes, passenger
changes, and the questions), makes the lookups the request needs, reads their results (payment methods
by their label, flights by their departure time, prices, the membership's free bags), makes the write
and answers with what it found. It follows the user's "first choice, otherwise ..." wording by trying
the first choice and falling back when the call fails. It knows nothing of the policy (it never
refuses) and reads neither the reference nor the exemplar. Printed: each solver's solves over the
tasks that are neither refusals nor transfers (bar: <= 5%), over all tasks, and the information-need
share and ambiguous count of the set (bars: >= 90%, 0).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from clawloop_synth.agents import Episode, ShortcutAgent, information_needs  # noqa: E402
from clawloop_synth.evaluate.solvers import RefuseAgent, TransferAgent, is_refusal_or_transfer, solve_rates  # noqa: E402
from clawloop_synth.generate.constraints import constraint_problem  # noqa: E402
from clawloop_synth.store import load_records  # noqa: E402
from clawloop_synth.types import PlannedCall, TaskSpec  # noqa: E402

FREE = {"regular": (0, 1, 2), "silver": (1, 2, 3), "gold": (2, 3, 3)}
CABINS = ("basic_economy", "economy", "business")
CABIN = r"(basic economy|economy|business)"
DATE = r"(\d{4}-\d{2}-\d{2})"
LABEL = r"((?:\w+ credit card ending in \d{4})|(?:gift card gift_card_\d+)|(?:travel certificate certificate_\d+))"


def _cabin(word: str) -> str:
    return word.replace(" ", "_")


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


class Script:
    """One run: yields calls, reads results, returns the answer (see the module docstring)."""

    def __init__(self, task: TaskSpec) -> None:
        self.text = task.instruction
        self.user: dict[str, Any] = {}
        self.notes: list[str] = []

    def call(self, name: str, **arguments: Any) -> Any:
        result = yield PlannedCall(name=name, arguments=arguments)
        return result

    def pay(self, label: str) -> str | None:
        methods = list(self.user.get("payment_methods", {}).values())
        if m := re.match(r"(\w+) credit card ending in (\d{4})", label):
            return next((x["id"] for x in methods if x["source"] == "credit_card"
                         and x.get("brand", "").lower() == m.group(1).lower() and x.get("last_four") == m.group(2)),
                        None)
        return label.split()[-1]

    def alternatives(self) -> list[tuple[str, str]]:
        """(first choice, fallback) pairs the user worded."""
        pairs = re.findall(r"first choice would be (?:flight number )?(.+?); if that is not available, go with "
                           r"(?:flight number )?(.+?)\.", self.text)
        pairs += re.findall(r"I'd rather use (.+?) if its balance covers it; otherwise (.+?)\.", self.text)
        pairs += re.findall(r"If (.+?) can't be used for this, use (.+?) instead\.", self.text)
        pairs += re.findall(r"Use (.+?) if it is still on file; if not, (.+?)\.", self.text)
        return pairs

    def write(self, name: str, arguments: dict[str, Any]) -> Any:
        """The write with the user's first choices put in; on an error, with the fallbacks."""
        first, second = dict(arguments), dict(arguments)
        for wrong, right in self.alternatives():
            for args, label in ((first, wrong), (second, right)):
                value = self.pay(label) if "card" in label or "certificate" in label else label.split()[-1]
                self._put(args, name, value)
        result = yield from self.call(name, **first)
        if result.is_error and second != first:
            result = yield from self.call(name, **second)
        return result

    @staticmethod
    def _put(args: dict[str, Any], name: str, value: Any) -> None:
        if value is None:
            return
        if str(value).startswith(("credit_card", "gift_card", "certificate")):
            if "payment_id" in args:
                args["payment_id"] = value
            elif args.get("payment_methods"):
                args["payment_methods"][-1]["payment_id"] = value
        elif re.match(r"HAT\d+", str(value)) and args.get("flights"):
            args["flights"][-1]["flight_number"] = value

    def free_bags(self, cabin: str, people: int) -> int:
        return FREE.get(self.user.get("membership", "regular"), FREE["regular"])[CABINS.index(cabin)] * people

    def run(self) -> Any:
        uid = re.search(r"user(?: id)? (\w+_\d+)|customer id is (\w+_\d+)", self.text)
        if uid is None:
            return "Sorry, I need your user id."
        user_id = uid.group(1) or uid.group(2)
        self.user = _json((yield from self.call("get_user_details", user_id=user_id)).content) or {}
        t = self.text
        for rid in re.findall(r"cancel (?:reservation|my trip|trip|booking) (\w{6})", t):
            res = _json((yield from self.call("get_reservation_details", reservation_id=rid)).content) or {}
            yield from self.call("cancel_reservation", reservation_id=rid)
            self.notes.append(f"{rid} cancelled, refund {sum(p['amount'] for p in res.get('payment_history', []))}")
        for n, rid, label in re.findall(r"add (\d+) checked bags? to reservation (\w{6}); any fee goes on my "
                                        + LABEL, t) + [(a, b, c) for a, b, c in re.findall(
                                            r"bringing (\d+) extra checked bags? on trip (\w{6}); use my " + LABEL, t)]:
            res = _json((yield from self.call("get_reservation_details", reservation_id=rid)).content) or {}
            total = res["total_baggages"] + int(n)
            paid = max(0, total - self.free_bags(res["cabin"], len(res["passengers"])))
            yield from self.write("update_reservation_baggages", {"reservation_id": rid, "total_baggages": total,
                                                                  "nonfree_baggages": paid,
                                                                  "payment_id": self.pay(label)})
            self.notes.append(f"charged {50 * (paid - res['nonfree_baggages'])}")
        yield from self.book(user_id)
        yield from self.change()
        yield from self.questions()
        return "Done. " + "; ".join(self.notes)

    def book(self, user_id: str) -> Any:
        m = re.search(r"book (?:a one-way |a round trip in )?" + CABIN + r"? ?(?:flight|trip)? ?from (\w{3}) to (\w{3})"
                      r"(.*?), for (just me|me and \w+ \w+)\. (Add travel insurance|No insurance)", self.text)
        if m is None:
            return
        cabin, origin, dest, legs, who, insurance = m.groups()
        if cabin is None:
            cabin = re.search(r"round trip in " + CABIN, self.text).group(1)  # type: ignore[union-attr]
        cabin = _cabin(cabin)
        people = [{"first_name": self.user["name"]["first_name"], "last_name": self.user["name"]["last_name"],
                   "dob": self.user["dob"]}]
        if who != "just me":
            first, last = who.split()[2:]
            people += [p for p in self.user.get("saved_passengers", []) if p["first_name"] == first
                       and p["last_name"] == last][:1]
        flights, total = [], 0
        stop = re.search(r"on " + DATE + r" with one stop in (\w{3}): the (\d\d:\d\d) flight, then the connection "
                                         r"at (\d\d:\d\d)", legs)
        if stop:
            day = stop.group(1)
            found = _json((yield from self.call("search_onestop_flight", origin=origin, destination=dest,
                                                date=day)).content) or []
            for pair in found:
                if pair[0]["scheduled_departure_time_est"].startswith(stop.group(3)) and \
                        pair[1]["scheduled_departure_time_est"].startswith(stop.group(4)):
                    flights = [{"flight_number": f["flight_number"], "date": day} for f in pair]
                    total = sum(f["prices"][cabin] for f in pair)
                    break
        else:
            trips = re.findall(DATE + r",? (?:on )?the direct (?:one|flight) at (\d\d:\d\d)", legs)
            for k, (day, time) in enumerate(trips):
                a, b = (origin, dest) if k == 0 else (dest, origin)
                found = _json((yield from self.call("search_direct_flight", origin=a, destination=b,
                                                    date=day)).content) or []
                hit = next((f for f in found if f["scheduled_departure_time_est"].startswith(time)), None)
                if hit:
                    flights.append({"flight_number": hit["flight_number"], "date": day})
                    total += hit["prices"][cabin]
        bags = int(re.search(r"We'll have (\d+) checked bag", self.text).group(1))  # type: ignore[union-attr]
        yes = insurance.startswith("Add")
        paid = max(0, bags - self.free_bags(cabin, len(people)))
        total = total * len(people) + (30 * len(people) if yes else 0) + 50 * paid
        split = re.search(r"Use up all of my " + LABEL + r" and put the rest on my " + LABEL, self.text)
        label = re.search(r"Pay with my " + LABEL, self.text)
        if split:
            gift = self.pay(split.group(1))
            balance = self.user["payment_methods"].get(gift, {}).get("amount", 0)
            payments = [{"payment_id": gift, "amount": balance},
                        {"payment_id": self.pay(split.group(2)), "amount": total - balance}]
        else:
            payments = [{"payment_id": self.pay(label.group(1)) if label else None, "amount": total}]
        result = yield from self.write("book_reservation", {
            "user_id": user_id, "origin": origin, "destination": dest,
            "flight_type": "round_trip" if "round trip" in self.text else "one_way", "cabin": cabin,
            "flights": flights, "passengers": people, "payment_methods": payments, "total_baggages": bags,
            "nonfree_baggages": paid, "insurance": "yes" if yes else "no"})
        rid = (_json(result.content) or {}).get("reservation_id", "") if not result.is_error else ""
        self.notes.append(f"booked {rid}, total {total}")

    def change(self) -> Any:
        for rid, _old, new, time, label in re.findall(
                r"move my .*?\((\w{6})\) from " + DATE + " to " + DATE + r", on the direct flight that leaves at "
                r"(\d\d:\d\d); same cabin\. Any difference goes on my " + LABEL, self.text):
            res = _json((yield from self.call("get_reservation_details", reservation_id=rid)).content) or {}
            found = _json((yield from self.call("search_direct_flight", origin=res["origin"],
                                                destination=res["destination"], date=new)).content) or []
            hit = next((f for f in found if f["scheduled_departure_time_est"].startswith(time)), None)
            if hit is None:
                continue
            yield from self.write("update_reservation_flights", {
                "reservation_id": rid, "cabin": res["cabin"], "payment_id": self.pay(label),
                "flights": [{"flight_number": hit["flight_number"], "date": new}]})
            diff = (hit["prices"][res["cabin"]] - res["flights"][0]["price"]) * len(res["passengers"])
            self.notes.append(f"new flight {hit['flight_number']}, difference {diff}")
        for rid, cabin, label in re.findall(r"upgrade reservation (\w{6}) to " + CABIN + r" on the same flights, "
                                            r"paying with my " + LABEL, self.text):
            res = _json((yield from self.call("get_reservation_details", reservation_id=rid)).content) or {}
            diff = 0
            for seg in res["flights"]:
                found = _json((yield from self.call("search_direct_flight", origin=seg["origin"],
                                                    destination=seg["destination"], date=seg["date"])).content) or []
                hit = next((f for f in found if f["flight_number"] == seg["flight_number"]), None)
                diff += (hit["prices"][_cabin(cabin)] - seg["price"]) if hit else 0
            yield from self.write("update_reservation_flights", {
                "reservation_id": rid, "cabin": _cabin(cabin), "payment_id": self.pay(label),
                "flights": [{"flight_number": s["flight_number"], "date": s["date"]} for s in res["flights"]]})
            self.notes.append(f"difference {diff * len(res['passengers'])}")
        for rid, old, new in re.findall(r"On reservation (\w{6}), please replace (\w+ \w+) with (\w+ \w+)", self.text):
            res = _json((yield from self.call("get_reservation_details", reservation_id=rid)).content) or {}
            saved = next((p for p in self.user.get("saved_passengers", [])
                          if f"{p['first_name']} {p['last_name']}" == new), None)
            if saved is None:
                continue
            people = [saved if f"{p['first_name']} {p['last_name']}" == old else p for p in res["passengers"]]
            yield from self.call("update_reservation_passengers", reservation_id=rid, passengers=people)
            self.notes.append(f"date of birth {saved['dob']}")

    def questions(self) -> Any:
        for rid in re.findall(r"(?:paid in total for reservation|total amount charged for booking) (\w{6})",
                              self.text):
            res = _json((yield from self.call("get_reservation_details", reservation_id=rid)).content) or {}
            self.notes.append(f"paid {sum(p['amount'] for p in res.get('payment_history', []))}")
        for rid in re.findall(r"checked bags can we bring for free on reservation (\w{6})", self.text):
            res = _json((yield from self.call("get_reservation_details", reservation_id=rid)).content) or {}
            self.notes.append(f"{self.free_bags(res['cabin'], len(res['passengers']))} free bags")
        for origin, dest, day in re.findall(r"cheapest direct economy flight from (\w{3}) to (\w{3}) on " + DATE,
                                            self.text):
            found = _json((yield from self.call("search_direct_flight", origin=origin, destination=dest,
                                                date=day)).content) or []
            if found:
                best = min(found, key=lambda f: f["prices"]["economy"])
                self.notes.append(f"{best['flight_number']} at {best['prices']['economy']}")


def _script(task: TaskSpec) -> Any:
    try:
        return (yield from Script(task).run())
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
        return f"Sorry, something went wrong ({type(exc).__name__})."


class ScriptAgent:
    name = "rule-based script"

    def episode(self, task: TaskSpec, attempt: int = 0) -> Episode:
        return Episode(_script(task), planted_mode="script")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--show", type=int, default=0, help="print this many solved plain tasks' instructions")
    args = parser.parse_args()
    tasks = list(load_records(args.workdir / "tasks", TaskSpec))
    agents = [ScriptAgent(), RefuseAgent(), TransferAgent(), ShortcutAgent()]
    rates = solve_rates(tasks, agents)
    print(f"{len(tasks)} tasks, {rates['plain_tasks']} neither refusals nor transfers")
    print(f"{'solver':<22} {'solved (plain)':>16} {'rate':>7} {'solved (all)':>13}   bar: rate <= 0.05")
    for agent in agents:
        row = rates[agent.name]
        print(f"{agent.name:<22} {row['solved_plain']:>16} {row['rate_plain']:>7.3f} {row['solved_all']:>13}")
    from clawloop_synth.agents import run_agent

    solved = [t for t in tasks if not is_refusal_or_transfer(t) and run_agent(ScriptAgent(), t).reward == 1.0]
    print("script solves by kind:", dict(Counter(t.kind for t in solved).most_common()))
    for task in solved[:args.show]:
        print("  solved:", task.instruction[:240])
    needs = sum(bool(information_needs(t)) for t in tasks)
    constrained = [t for t in tasks if t.constraints]
    ambiguous = sum((constraint_problem(t) or ("",))[0] == "ambiguous" for t in constrained)
    print(f"information-need share {needs / len(tasks):.3f} (bar >= 0.90); "
          f"ambiguous {ambiguous} of {len(constrained)} constrained (bar 0)")


if __name__ == "__main__":
    main()
