"""Server-wide limits, without a browser: the memory budget across sessions, builds off the
event loop with a time limit, a link's problems in one message, the classroom's origins."""

from __future__ import annotations

import threading

import pytest

from growlab.run.runner import Runner, estimate_run
from growlab.run.slots import BudgetError, MemoryBudget, parse_bytes
from growlab.ui import link_summary
from growlab.ui.model import SessionModel
from growlab.ui.offload import Offload
from growlab.ui.serve import local_addresses, websocket_origins

SMALL = {"dataset": "xor", "arch": "4", "epochs": 5}
BIG = {"dataset": "heart", "arch": "600-600", "epochs": 5}


def test_runs_share_the_memory_budget_and_give_it_back():
    budget = MemoryBudget(limit=int(estimate_run(BIG) * 1.5))
    first = Runner(BIG, memory=budget)
    with pytest.raises(BudgetError, match=r"the server's memory budget for runs .* left \(1 other run holds the rest\)"):
        Runner(BIG, memory=budget)
    small = Runner(SMALL, memory=budget)  # what is left still serves a small run
    with pytest.raises(BudgetError):
        small.reset(BIG)  # refused: the small run stays as it was
    assert small.snapshot.dataset == "xor"
    first.close()
    small.reset(BIG)  # the closed run gave its share back; the small one's is replaced, not added
    assert budget.used == estimate_run(BIG)
    small.close()
    assert budget.used == 0


def test_a_build_nobody_waits_for_any_more_is_dropped_and_frees_its_share():
    budget = MemoryBudget(limit=parse_bytes("4GiB"))
    runner = Runner(SMALL, memory=budget)
    held = budget.used
    assert runner.reset(BIG, commit=lambda: False) is False
    assert runner.snapshot.dataset == "xor" and budget.used == held
    runner.close()


class Loop:
    """Stands in for a session's document: callbacks run when the test says (one thread, like Bokeh's loop)."""

    def __init__(self):
        self.ticks, self.timers, self.lock = [], [], threading.Lock()

    def add_next_tick_callback(self, fn):
        with self.lock:
            self.ticks.append(fn)

    def add_timeout_callback(self, fn, ms):
        self.timers.append(fn)

    def run_ticks(self):
        with self.lock:
            ticks, self.ticks = self.ticks, []
        for fn in ticks:
            fn()


def wait_for(event: threading.Event):
    assert event.wait(30)


def test_offloaded_work_reports_on_the_loop_and_a_time_limit_wins_over_a_late_result():
    loop, results = Loop(), []
    gate, started, ended, answers = threading.Event(), threading.Event(), threading.Event(), []

    def slow(commit):
        started.set()
        gate.wait(30)
        answers.append(commit())
        ended.set()
        return answers[-1]

    off = Offload(loop, timeout=60)
    off.submit(slow, lambda r, e: results.append((r, e)))
    wait_for(started)
    loop.run_ticks()  # the build thread asked for its time limit
    assert off.busy and results == []
    for expire in loop.timers:  # the time limit passes before the work ends
        expire()
    assert len(results) == 1 and isinstance(results[0][1], TimeoutError) and not off.busy
    gate.set()
    wait_for(ended)
    loop.run_ticks()
    assert answers == [False] and len(results) == 1  # the late result was dropped: its commit() said no


def test_a_newer_build_supersedes_an_older_one():
    loop, results = Loop(), []
    gates = [threading.Event(), threading.Event()]
    commits = []

    def work(i):
        def run(commit):
            gates[i].wait(30)
            commits.append((i, commit()))
            return i
        return run

    off = Offload(loop, timeout=60)
    off.submit(work(0), lambda r, e: results.append(r))
    off.submit(work(1), lambda r, e: results.append(r))
    gates[1].set()
    gates[0].set()
    for _ in range(100):
        loop.run_ticks()
        if len(commits) == 2 and not loop.ticks:
            break
        threading.Event().wait(0.05)
    loop.run_ticks()
    assert dict(commits) == {0: False, 1: True} and results == [1]


def test_a_link_with_hundreds_of_unknown_parameters_is_one_short_message():
    query = {f"p{i}": "1" for i in range(300)} | {"seed": "1e999", "arch": "9" * 100_000}
    problems = SessionModel().apply_query(query)
    text = link_summary(problems)
    assert text.count("link:") == 1 and len(text) < 900 and "295 more" in text


def test_a_classroom_server_allows_pages_from_this_machines_addresses_and_loopback_stays_local():
    loopback = websocket_origins("127.0.0.1", 5006)
    assert loopback == ["127.0.0.1:5006", "localhost:5006"]
    everywhere = websocket_origins("0.0.0.0", 5006)
    for address in local_addresses():
        assert (f"[{address}]:5006" if ":" in address else f"{address}:5006") in everywhere
    assert "127.0.0.1:5006" in everywhere and "proxy.example:443" in websocket_origins("0.0.0.0", 5006, ["proxy.example:443"])
