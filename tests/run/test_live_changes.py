"""One live-change path: ``Run.set`` validates once and applies at the next epoch boundary with
one ``param`` event; ``Runner.set``, ``Lab.set`` and the app's sidebar (the session) forward to
it, so each gives the same event and the same refusal for a bad value."""

from __future__ import annotations

import threading

import pytest

from growlab import Run
from growlab.run.runner import Runner

SETUP = {"dataset": "xor", "arch": "4", "method": "strategic", "epochs": 10, "seed": 0}
TIMEOUT = 60.0


class ViaRun:
    def __init__(self):
        self.run = Run(**SETUP)

    def step(self):
        self.run.step()

    def set(self, **kw):
        return self.run.set(**kw)

    def events(self):
        return self.run.events

    def pending(self):
        return self.run.pending

    def close(self):
        pass


class ViaRunner(ViaRun):
    def __init__(self):
        self.runner = Runner(SETUP)

    def step(self):
        epoch = self.runner.snapshot.epoch
        self.runner.step()
        assert self.runner.wait(lambda s: s.epoch > epoch, timeout=TIMEOUT)

    def set(self, **kw):
        return self.runner.set(**kw)

    def events(self):
        return self.runner.call(lambda run: run.events)

    def pending(self):
        return self.runner.pending

    def close(self):
        self.runner.close()


class ViaLab(ViaRun):
    def __init__(self):
        from growlab.ui.lab import Lab

        self.lab = Lab(**SETUP)

    def step(self):
        self.lab.step(1)

    def set(self, **kw):
        return self.lab.set(**kw)

    def events(self):
        return self.lab.events

    def pending(self):
        return self.lab.runner.pending

    def close(self):
        self.lab.close()


class ViaSidebar(ViaLab):
    """What the sidebar does: it sets the session model, whose watcher forwards to the runner."""

    def set(self, **kw):
        (name, value), = kw.items()
        owner = self.lab.model if name == "lr" else self.lab.model.method_params
        seen = len(self.lab.messages)
        setattr(owner, name, value)
        refused = [text for level, text in self.lab.messages[seen:] if level == "error"]
        if refused:  # the sidebar shows the refusal as a toast and puts the control back
            assert getattr(owner, name) != value
            raise ValueError(refused[-1].removeprefix("Refused: "))
        return {name: getattr(owner, name)}


ENTRY_POINTS = [ViaRun, ViaRunner, ViaLab, ViaSidebar]


@pytest.fixture(params=ENTRY_POINTS, ids=lambda c: c.__name__)
def entry(request):
    e = request.param()
    yield e
    e.close()


@pytest.mark.parametrize("name, old, new", [("sigma", 1.0, 2.5), ("lr", 0.003, 0.01)])
def test_a_live_change_gives_one_param_event_at_the_next_boundary(entry, name, old, new):
    entry.step()
    assert entry.set(**{name: new}) == {name: new}
    assert entry.pending() == {name: new}  # queued on the run, not applied yet
    assert entry.events().query("kind == 'param'").empty
    entry.step()
    params = entry.events().query("kind == 'param'")
    assert list(params.cause) == [f"{name}: {old} → {new}"] and list(params.epoch) == [2]
    assert entry.pending() == {}


BAD = [({"sigma": -1.0}, "sigma must be in (0, 1000], got -1.0"), ({"lr": 0.0}, "lr must be in (0, ∞), got 0.0")]


@pytest.mark.parametrize("values, message", BAD)
def test_a_bad_value_gets_the_runs_one_refusal_everywhere(entry, values, message):
    entry.step()
    with pytest.raises(ValueError) as e:
        entry.set(**values)
    assert str(e.value) == message
    assert entry.pending() == {}
    entry.step()
    assert entry.events().query("kind == 'param'").empty


def test_changes_from_another_thread_while_training_are_never_lost():
    run = Run(**{**SETUP, "epochs": 40})
    values = [round(0.5 + 0.05 * i, 2) for i in range(30)]
    done = threading.Event()

    def setter():
        for v in values:
            run.set(sigma=v)
        done.set()

    t = threading.Thread(target=setter)
    t.start()
    while not done.is_set() and not run.done:
        run.step()
    t.join()
    run.step()  # the last value applies at the next boundary at the latest
    assert run.params()["sigma"] == values[-1] and run.pending == {}
    causes = list(run.events.query("kind == 'param'").cause)
    assert causes and causes[-1].endswith(f"→ {values[-1]}")
