"""Scale-out (DESIGN §8b): grids on other executors and on a real Dask ``LocalCluster`` of processes
(loopback only) give the in-process members bit for bit, survive a killed worker, name failed tasks,
stop on cancel, and ask for GPUs where workers have them."""

import multiprocessing
import os
import signal
import socket
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pandas as pd
import psutil
import pytest
import torch
from distributed import Client

from growlab.cli import main
from growlab.experiment import Cancelled, ExperimentFailed, grid
from growlab.experiment.distributed import DaskBackend, auto_chunk, local_cluster, local_workers
from growlab.experiment.population import worker_device

pytestmark = pytest.mark.slow

KW = dict(methods=["dense", "prune", "strategic+prune"], seeds=4, thresholds=(0.8, 0.9), epochs=12, chunk=2)


def _cluster(n_workers=2, **kw):
    return local_cluster(n_workers, **kw)  # what scheduler="local:N" starts


@pytest.fixture(scope="module")
def reference():
    return grid(**KW)


@pytest.fixture(scope="module")
def cluster():
    with _cluster() as c, Client(c) as client:
        yield c, client


def assert_same_members(a, b):
    """Every member row and every final network, bit for bit."""
    pd.testing.assert_frame_equal(a.frame, b.frame, check_exact=True)
    assert a.networks.keys() == b.networks.keys()
    for method in a.networks:
        for x, y in zip(a.networks[method], b.networks[method], strict=True):
            for tx, ty in zip([*x.weights, *x.biases, *x.masks], [*y.weights, *y.biases, *y.masks], strict=True):
                assert torch.equal(tx, ty), method


def test_a_grid_on_a_local_cluster_of_two_processes_is_bit_identical_to_in_process(reference):
    seen = []
    r = grid(**KW, scheduler="local:2", progress=lambda *a: seen.append(a))
    assert_same_members(reference, r)
    where = set(r.tasks.process)
    pids = {int(w.rsplit(":", 1)[1]) for w in where}
    assert len(pids) == 2 and os.getpid() not in pids  # two worker processes trained it…
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in pids)  # …closed after
    total = sum(r.tasks.members) * KW["epochs"]
    assert seen[-1][:2] == (total, total) and [d for d, *_ in seen] == sorted(d for d, *_ in seen)


def test_other_executors_give_the_same_members(reference):
    with ThreadPoolExecutor(2) as pool:
        assert_same_members(reference, grid(**KW, executor=pool))
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        r = grid(**KW, executor=pool)
    assert_same_members(reference, r)
    assert os.getpid() not in {int(w.rsplit(":", 1)[1]) for w in r.tasks.process}


def test_bad_scheduler_settings_are_refused_and_an_unreachable_scheduler_is_named():
    with pytest.raises(ValueError, match="positive number of worker processes"):
        grid(**KW, scheduler="local:0")
    with pytest.raises(ValueError, match="not both"):
        grid(**KW, scheduler="local:1", executor=ThreadPoolExecutor(1))
    with pytest.raises(ValueError, match="workers= sizes the in-process"):
        grid(**KW, scheduler="local:1", workers=2)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConnectionError, match=rf"no Dask scheduler answered at tcp://127.0.0.1:{port} within .*dask scheduler"):
        grid(**KW, scheduler=f"127.0.0.1:{port}")
    assert local_workers("local:3") == 3 and local_workers("localhost:8786") is None
    assert auto_chunk(50, 7, 2) == 50 and auto_chunk(50, 7, 16) == 10 and auto_chunk(3, 1, 8) == 1


def test_tasks_ask_for_a_gpu_where_workers_advertise_one_and_then_train_on_cuda():
    assert worker_device(None, gpu=True, cuda_available=True) == "cuda"
    assert worker_device("cpu", gpu=True, cuda_available=True) == "cpu"
    assert worker_device(None, gpu=False, cuda_available=True) is None  # torch's own pick, as in-process
    with pytest.raises(RuntimeError, match="advertises a GPU resource but its torch has no CUDA"):
        worker_device(None, gpu=True, cuda_available=False)
    with _cluster(n_workers=1, resources={"GPU": 1}) as c, Client(c) as client:
        assert DaskBackend(client).gpu and not DaskBackend(client, device="cpu").gpu
        run = dict(methods=["dense"], seeds=1, epochs=2)
        if torch.cuda.is_available():
            r = grid(**run, scheduler=client)
            assert len(r.frame) == 1
        else:  # the task held the GPU resource and chose CUDA, which this machine lacks: a clear failure
            with pytest.raises(ExperimentFailed, match="'dense' seed 0: RuntimeError: this Dask worker advertises a GPU"):
                grid(**run, scheduler=client)


def test_no_gpu_is_asked_for_when_no_worker_has_one(cluster):
    assert not DaskBackend(cluster[1]).gpu


def test_the_cli_runs_on_a_scheduler_address_with_chunks_loading_data_once_per_worker(cluster, reference, tmp_path, capsys):
    c, client = cluster
    client.wait_for_workers(2)
    argv = ["experiment", "grid", "--methods", ",".join(KW["methods"]), "--seeds", "4", "--thresholds", "0.8,0.9",
            "--epochs", str(KW["epochs"]), "--chunk", "2", "--quiet", "--scheduler", c.scheduler_address]  # fmt: skip
    assert main([*argv, "--out", str(tmp_path / "out")]) == 0
    members = pd.read_csv(tmp_path / "out" / "members.csv", float_precision="round_trip")
    expected = reference.frame.copy()
    cols = ["method", "threshold", "seed", "val_acc", "val_auc"]
    pd.testing.assert_frame_equal(members[cols], expected[cols], check_exact=True)

    def loads():
        from growlab.experiment.population import _load_checked

        return _load_checked.cache_info().misses

    assert set(client.run(loads).values()) <= {0, 1}  # 6 tasks, heart loaded at most once per worker

    def malloc_tuned():
        from growlab.experiment.population import _tune_malloc

        return _tune_malloc()

    # Dask's nanny fixes glibc's trim threshold (slowing large tensors 2x); the tasks undid it
    assert set(client.run(malloc_tuned).values()) == {sys.platform.startswith("linux")}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main([*argv[:-1], f"tcp://127.0.0.1:{port}", "--out", str(tmp_path / "x")]) == 2
    assert "no Dask scheduler answered" in capsys.readouterr().err and not (tmp_path / "x").exists()


def test_a_csv_dataset_is_shipped_to_the_workers_and_gives_the_same_members(cluster, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 3))
    table = pd.DataFrame(x, columns=["a", "b", "c"]).assign(label=(x[:, 0] + x[:, 1] > 0).astype(int))
    table.to_csv(tmp_path / "t.csv", index=False)
    kw = dict(methods=["prune"], seeds=2, thresholds=(0.8,), epochs=5, chunk=1,
              dataset_options={"path": str(tmp_path / "t.csv"), "target": "label"})  # fmt: skip
    assert_same_members(grid("csv", "4", **kw), grid("csv", "4", **kw, scheduler=cluster[1]))


def test_interpretations_pass_the_scheduler_to_every_grid(cluster):
    from growlab.experiment import interpretations

    kw = dict(seeds=2, thresholds=(0.9,), readings=["growlab", "no floor"], epochs=3)
    local, remote = interpretations(**kw), interpretations(**kw, scheduler=cluster[1])
    pd.testing.assert_frame_equal(local.members, remote.members, check_exact=True)


def test_a_task_that_raises_on_a_worker_is_named_and_the_other_results_are_kept(cluster, reference, tmp_path):
    client = cluster[1]
    client.wait_for_workers(2)

    def patch(on: bool):
        import growlab.experiment.population as population

        real = getattr(population, "_real_train_group", population.train_group)
        population._real_train_group = real

        def flaky(group, *args, **kw):
            if group.method == "prune" and 2 in group.seeds:
                raise RuntimeError("boom on the worker")
            return real(group, *args, **kw)

        population.train_group = flaky if on else real

    client.run(patch, True)
    try:
        named = r"(?s)1 of 6 tasks failed.*'prune' seeds 2, 3 at T = 0.8, 0.9: RuntimeError: boom"
        with pytest.raises(ExperimentFailed, match=named) as info:
            grid(**KW, scheduler=client)
        argv = ["experiment", "grid", "--methods", "prune", "--seeds", "4", "--epochs", "2", "--chunk", "2", "--quiet",
                "--scheduler", cluster[0].scheduler_address, "--out", str(tmp_path / "cli")]  # fmt: skip
        assert main(argv) == 1  # the command saves what finished and says it failed
        assert "Partial result: 1 tasks" in (tmp_path / "cli" / "report.md").read_text()
    finally:
        client.run(patch, False)
    partial = info.value.result
    assert [m.seeds for m in info.value.failures] == [(2, 3, 2, 3)] and not partial.complete
    kept = reference.frame[~((reference.frame.method == "prune") & reference.frame.seed.isin([2, 3]))]
    cols = ["method", "threshold", "seed", "val_acc", "val_auc", "density", "active"]
    pd.testing.assert_frame_equal(partial.frame[cols].reset_index(drop=True), kept[cols].reset_index(drop=True))
    report = partial.save(tmp_path / "partial").read_text()
    assert "## Partial result: 1 tasks did not finish" in report and "boom on the worker" in report
    assert pd.read_csv(tmp_path / "partial" / "missing.csv").method.tolist() == ["prune"]


def test_cancel_stops_running_tasks_on_the_workers(cluster):
    client = cluster[1]
    client.wait_for_workers(2)
    seen = []
    with pytest.raises(Cancelled, match="stopped while training") as info:
        grid(methods=["prune"], seeds=4, thresholds=(0.9,), epochs=20_000, chunk=2, scheduler=client,
             progress=lambda *a: seen.append(a), cancel=lambda: bool(seen))  # fmt: skip
    assert info.value.result is None and 0 < seen[0][0] < seen[0][1]  # an epoch count from a running task
    # each worker has one thread: a probe runs only once the task there has stopped, which it does
    # at its next check (half a second), not after its 20,000 epochs (minutes)
    for worker in client.scheduler_info()["workers"]:
        assert client.submit(os.getpid, workers=[worker], pure=False).result(timeout=20)


def test_a_worker_killed_mid_grid_loses_nothing(cluster):
    """SIGKILL a worker process while it trains: the scheduler reruns its task on the other one."""
    c, client = cluster
    client.wait_for_workers(2)
    kw = dict(methods=["prune", "strategic+prune"], seeds=4, thresholds=(0.8,), epochs=400, chunk=2)
    expected = grid(**kw)
    pids = client.run(os.getpid)
    killed = []

    def kill_a_busy_worker(done, total, label):
        if killed or done == 0:
            return
        busy = [w for w, keys in client.processing().items() if keys]
        if busy:
            killed.append((busy[0], pids[busy[0]], done, total))
            os.kill(pids[busy[0]], signal.SIGKILL)

    r = grid(**kw, scheduler=client, progress=kill_a_busy_worker)
    assert killed and killed[0][2] < killed[0][3]  # killed mid-grid, while it was processing a task
    assert_same_members(expected, r)
    assert not psutil.pid_exists(killed[0][1]) or psutil.Process(killed[0][1]).status() == psutil.STATUS_ZOMBIE
