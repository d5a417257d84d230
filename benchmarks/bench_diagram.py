"""Server-side network-diagram update time (DESIGN §9: ≤ 50 ms for 5,000 edges).

Measures ``NetworkDiagram.update(snapshot)`` with the figure in a Bokeh ``Document``, plus
encoding the resulting document patch as the server would send it (``PATCH-DOC``):

1. 5,000 drawn edges, structure changed (50 pruned + 50 grown each time: ``.data`` replaced);
2. 5,000 drawn edges, weights only (``.patch``);
3. LeNet-300-100 (266k possible connections, 50% active) under the default 3,000-edge budget;
4. LeNet-5-caffe on mnist5k (``ConvDiagram``: 1,020 kernels, 25,000 channel → neuron blocks and
   5,000 dense weights on its channel graph), taps pruned each time, 3,000-edge budget. Also
   prints what building its snapshot costs on the trainer's thread (not the UI's).

Run: ``python benchmarks/bench_diagram.py``
"""

from __future__ import annotations

import dataclasses
import statistics
import time

import numpy as np
import pandas as pd
from bokeh.document import Document
from bokeh.protocol import Protocol

from growlab import Run
from growlab.engine import Network
from growlab.run.snapshot import snapshot_of
from growlab.ui.conv_diagram import ConvDiagram
from growlab.ui.diagram import NetworkDiagram


def edges_5000() -> list:
    """Snapshots of breast_cancer 30-100-40-1 with 5,000 active connections, structure varying."""
    run = Run("breast_cancer", "100-40", "dense", epochs=50, seed=0)
    rng = np.random.default_rng(0)
    import torch

    drop = torch.zeros_like(run.network.masks[1], dtype=torch.bool)
    drop[0].view(-1)[torch.as_tensor(rng.choice(4000, 2040, replace=False))] = True
    run.ctx.prune(1, drop)  # 7,040 → 5,000 active
    snaps = []
    for i in range(6):
        run.ctx.epoch = run.epoch = i + 1
        active = run.network.masks[1][0].nonzero()
        dormant = (~run.network.masks[1][0]).nonzero()
        where = torch.zeros_like(run.network.masks[1])
        where[0, active[:50, 0], active[:50, 1]] = True
        run.ctx.prune(1, where)
        grow = torch.zeros_like(where)
        pick = dormant[torch.as_tensor(rng.choice(len(dormant), 50, replace=False))]
        grow[0, pick[:, 0], pick[:, 1]] = True
        run.ctx.grow(1, grow, run.network.sample_init(1, run.streams))
        snaps.append(snapshot_of(run))
    return snaps


def lenet(base) -> object:
    """A LeNet-300-100 snapshot (random weights, 50% active, 2,000 changes in the latest cycle)."""
    rng = np.random.default_rng(1)
    net = Network((784, 300, 100, 10), task="multiclass", device="cpu")
    ws = [w[0].detach().numpy() for w in net.weights]
    masks = [rng.random(w.shape) < 0.5 for w in ws]
    t, s = np.nonzero(masks[0])
    k = rng.choice(len(t), 2000, replace=False)
    recent = pd.DataFrame({"epoch": 5, "step": 5, "kind": "grow", "layer": 0, "source": s[k], "target": t[k],
                           "weight": ws[0][t[k], s[k]], "cause": "bench"})  # fmt: skip
    arr = lambda ts: tuple(x[0].detach().numpy() for x in ts)  # noqa: E731
    return dataclasses.replace(
        base, sizes=(784, 300, 100, 10), capacity=(784, 300, 100, 10), weights=tuple(w * m for w, m in zip(ws, masks)),
        masks=tuple(masks), biases=arr(net.biases), alive=arr(net.alive), birth_epoch=arr(net.birth_epoch),
        recent=recent, redundant=None, image_shape=(28, 28), feature_names=tuple(f"px{i}" for i in range(784)),
        class_names=tuple("0123456789"), task="multiclass", epoch=5,
    )  # fmt: skip


def lenet5_caffe() -> list:
    """Snapshots of LeNet-5-caffe on mnist5k, 5% of conv 2's live taps pruned before each."""
    import torch

    run = Run("mnist5k", "lenet-5-caffe", "dense", epochs=10, seed=0)
    gen = torch.Generator().manual_seed(0)
    snaps, build = [], []
    for i in range(4):
        run.ctx.epoch = run.epoch = i + 1
        live = run.network.masks[1]
        run.ctx.prune(1, live & (torch.rand(live.shape, generator=gen) < 0.05))
        t0 = time.perf_counter()
        snaps.append(snapshot_of(run))
        build.append((time.perf_counter() - t0) * 1e3)
    print(f"LeNet-5-caffe snapshot (trainer thread): {statistics.median(build):.1f} ms median of {len(build)}")
    return snaps


def measure(diagram: NetworkDiagram, doc: Document, snaps: list, rounds: int = 30) -> tuple[float, ...]:
    """Milliseconds of update() alone and of update() plus encoding its patch message: median and
    best of ``rounds`` (the best is what the code costs when nothing else competes for the CPU)."""
    events: list = []
    doc.on_change(events.append)
    proto = Protocol()
    alone, total = [], []
    for i in range(rounds):
        events.clear()
        t0 = time.perf_counter()
        diagram.update(snaps[i % len(snaps)])
        t1 = time.perf_counter()
        if events:
            proto.create("PATCH-DOC", [e for e in events if hasattr(e, "to_serializable")])
        t2 = time.perf_counter()
        alone.append((t1 - t0) * 1e3)
        total.append((t2 - t0) * 1e3)
    doc.remove_on_change(events.append)
    return statistics.median(alone), statistics.median(total), min(alone), min(total)


def main() -> None:
    snaps = edges_5000()
    cases = {
        "5,000 edges, structure changes (.data)": snaps,
        "5,000 edges, weights only (.patch)": [
            dataclasses.replace(snaps[-1], weights=tuple(w * f for w in snaps[-1].weights)) for f in (1.0, 1.01, 1.02)
        ],
        "LeNet-300-100, 133k active, budget 3,000": [lenet(snaps[0]), lenet(snaps[0])],
        "LeNet-5-caffe (conv), budget 3,000": lenet5_caffe(),
    }
    print(f"{'case':45s} {'update':>9s} {'+encode':>9s} {'best':>8s} {'+encode':>9s}   drawn")
    for name, case in cases.items():
        kind = ConvDiagram if "conv" in name else NetworkDiagram
        d = kind(edge_budget=3000 if "LeNet" in name else 5000)
        doc = Document()
        doc.add_root(d.figure)
        d.update(case[0])  # first draw builds the layout
        if isinstance(d, ConvDiagram):  # its feature-map strip (built by the first conv draw) is updated and sent too
            doc.add_root(d.maps.figure)
        upd, tot, best, best_tot = measure(d, doc, case)
        print(f"{name:45s} {upd:7.1f}ms {tot:7.1f}ms {best:6.1f}ms {best_tot:7.1f}ms   {len(d.sources['edges'].data['w']):,}")
    print("medians, then best of 30; target (DESIGN §9): update ≤ 50 ms for 5,000 edges and for lenet-5-caffe")


if __name__ == "__main__":
    main()
