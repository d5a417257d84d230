"""The event log keeps a cycle's events as arrays and reads as the same column lists."""

from __future__ import annotations

import copy
import pickle
import threading

import numpy as np
import torch

from growlab.methods import EventLog


def _log():
    log = EventLog()
    log.add(1, 10, "param", cause="lr: 0.1 → 0.01")
    log.extend(2, 20, "prune", 1, torch.tensor([3, 4]), torch.tensor([0, 1]), torch.tensor([0.5, -0.25]))
    log.extend(2, 20, "grow", 0, np.array([7]), np.array([2]), np.array([0.125], dtype=np.float32), ["focal 1"])
    log.add(3, 30, "phase", cause="pruning")
    log.extend(3, 30, "grow", 0, [1, 2], [5, 6], [1.0, 2.0], "why")
    return log


def test_blocks_read_as_the_column_lists_in_order_with_python_values():
    log = _log()
    assert len(log) == 7
    c = log.columns
    assert c["kind"] == ["param", "prune", "prune", "grow", "phase", "grow", "grow"]
    assert c["source"] == [None, 3, 4, 7, None, 1, 2] and c["target"] == [None, 0, 1, 2, None, 5, 6]
    assert c["weight"] == [None, 0.5, -0.25, 0.125, None, 1.0, 2.0]
    assert c["cause"] == ["lr: 0.1 → 0.01", None, None, "focal 1", "pruning", "why", "why"]
    assert all(type(v) is int for v in c["source"][1:4]) and type(c["weight"][1]) is float
    assert c["epoch"] == [1, 2, 2, 2, 3, 3, 3] and len(log) == 7
    frame = log.frame()
    assert frame["layer"].isna().sum() == 2 and frame["source"].tolist()[1:4] == [3, 4, 7] and frame["weight"].dtype == float


def test_truncate_state_copies_and_pickles():
    log = _log()
    state = log.state_dict()
    log.truncate(3)
    assert len(log) == 3 and log.columns["kind"] == ["param", "prune", "prune"]
    log.extend(4, 40, "grow", 1, torch.tensor([9]), torch.tensor([9]), torch.tensor([0.0]))
    assert len(log) == 4 and log.columns["epoch"][-1] == 4
    for twin in (copy.deepcopy(log), pickle.loads(pickle.dumps(log))):
        assert twin.columns == log.columns and len(twin) == 4
        twin.add(5, 50, "note")
        assert len(twin) == 5 and len(log) == 4
    fresh = EventLog()
    fresh.load_state_dict(state)
    assert fresh.columns == _log().columns


def test_reading_while_another_thread_records_loses_nothing():
    log, n = EventLog(), 300

    def record():
        for i in range(n):
            log.extend(i, i, "grow", 0, torch.arange(3), torch.arange(3), torch.zeros(3))

    writer = threading.Thread(target=record)
    writer.start()
    while writer.is_alive():
        assert len(log.columns["epoch"]) <= len(log)
    writer.join()
    assert len(log) == 3 * n and log.columns["epoch"] == [i for i in range(n) for _ in range(3)]


def _from_blocks(log, since=0) -> dict[str, list]:
    """The log's rows from ``since`` as column lists, rebuilt from its typed blocks."""
    from growlab.methods.events import COLUMNS

    out = {c: [] for c in COLUMNS}
    row = since
    for first, n, values in log.blocks(since)[1]:
        assert first == row and n > 0
        for c, v in zip(COLUMNS, values):
            out[c] += v.tolist() if isinstance(v, np.ndarray) else list(v) if isinstance(v, list) else [v] * n
        row += n
    return out


def test_blocks_give_the_rows_as_recorded_from_any_row_through_truncate_load_and_pickle():
    log = _log()
    for since in range(8):
        assert _from_blocks(log, since) == {c: v[since:] for c, v in log.columns.items()}
    rev = log.blocks()[0]
    log.truncate(2)  # cuts the prune block in two
    assert log.blocks()[0] == rev + 1 and _from_blocks(log) == log.columns and len(log) == 2
    log.extend(4, 40, "grow", 1, torch.tensor([9, 8]), torch.tensor([1, 2]), torch.tensor([0.5, 0.25]))
    assert _from_blocks(log) == log.columns and _from_blocks(log, 3) == {c: v[3:] for c, v in log.columns.items()}
    log.truncate(10)  # nothing to drop: nothing changes
    assert log.blocks()[0] == rev + 1 and len(log) == 4
    loaded = EventLog()
    loaded.load_state_dict(_log().state_dict())
    loaded.add(9, 90, "note")  # a row after the loaded ones is a block of its own
    assert _from_blocks(loaded) == loaded.columns and len(loaded.blocks()[1]) == 2
    twin = pickle.loads(pickle.dumps(log))
    assert _from_blocks(twin) == log.columns
