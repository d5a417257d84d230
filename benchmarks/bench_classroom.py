"""A class on one server (issue 20): 30 viewers follow the teacher's run while 4 sessions train.

Serves the app (``growlab serve`` on a free loopback port, with the event-loop probe
``$GROWLAB_LOOP_PROBE`` on) and loads it from this process with headless Bokeh clients: each
one loads the page over HTTP (which builds its session), opens the session's websocket, pulls
the document and then reads every patch the server sends, without rendering anything.

1. ``--trainers`` sessions (default 4) open the setup ``--query`` and press Play (a
   ``button_click`` event, as the browser sends it); the first one is the teacher and also
   presses **Share live**.
2. The lag of the server's event loop (a timer every 20 ms, how late it fires: what every
   click and refresh waits for) is measured for ``--seconds`` with the trainers alone, then
   ``--viewers`` sessions (default 30) open the teacher's follow link and it is measured again.

Reported: event-loop lag p50/p90/p99/max for both phases, each trainer's epochs per second (from
the epoch its own page is sent), the bytes the server sent to the viewers, and the page loads.
Target: event-loop p90 ≤ 100 ms with the class connected. Bounded: about two minutes (the
viewers have ``--arrival`` seconds to connect and show the teacher's epoch in their status
strip; those that did not are left out and said so).

    python benchmarks/bench_classroom.py [--viewers 30] [--trainers 4] [--seconds 20] [--speed normal] [--profile FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from growlab.ui.serve import free_port  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_app  # noqa: E402  (its server start)

QUERY = "dataset=heart&arch=16-8&method=strategic%2Bprune&epochs=100000"
SPEEDS = ("slow", "normal", "fast", "fastest")
EPOCH_RE = re.compile(r"(\d+) / 100000")


def start_server(port: int) -> subprocess.Popen:
    """``growlab serve`` with the event-loop probe on."""
    return bench_app.start_server(port, env={**os.environ, "GROWLAB_LOOP_PROBE": "1", "PYTHONUNBUFFERED": "1"})


def cpu(pid: int, tid: int | None = None) -> float:
    """CPU seconds (user + system) of process ``pid``, or of its thread ``tid`` (Linux)."""
    path = f"/proc/{pid}/task/{tid}/stat" if tid is not None else f"/proc/{pid}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())


def find_models(node, found: dict) -> None:
    """Every serialized model of a pulled document under ``node``: label → id (buttons), name → id."""
    if isinstance(node, dict):
        if node.get("type") == "object" and "id" in node:
            attrs = node.get("attributes") or {}
            if isinstance(attrs.get("label"), str):
                found.setdefault(attrs["label"], node["id"])
            if attrs.get("options") == list(SPEEDS):
                found.setdefault("speed", node["id"])
        for v in node.values():
            find_models(v, found)
    elif isinstance(node, list):
        for v in node:
            find_models(v, found)


class Client:
    """One headless page: GET the app (builds the session), open its websocket, pull the document,
    then read (and drop) every message; the ``watch`` regex is looked for in patches."""

    def __init__(self, url: str, watch: re.Pattern | None = None):
        self.url, self.watch = url, watch
        self.models: dict = {}
        self.bytes = 0
        self.messages = 0
        self.matches: list[tuple[float, str]] = []
        self.ws = None

    async def open(self) -> float:
        from tornado.httpclient import AsyncHTTPClient, HTTPRequest
        from tornado.websocket import websocket_connect

        t0 = time.monotonic()
        page = await AsyncHTTPClient().fetch(self.url, request_timeout=300, connect_timeout=300)
        token = re.search(r'"token":\s*"([^"]+)"', page.body.decode()).group(1)
        host = self.url.split("//", 1)[1].split("/", 1)[0]
        self.ws = await websocket_connect(HTTPRequest(f"ws://{host}/ws", connect_timeout=300, request_timeout=300),
                                          subprotocols=["bokeh", token], max_message_size=2**30)  # fmt: skip
        await self._message()  # ACK
        await self.send("PULL-DOC-REQ", {})
        while True:
            kind, content = await self._message(parse=True)
            if kind == "PULL-DOC-REPLY":
                find_models(content.get("doc", {}), self.models)
                self._look(json.dumps(content))  # the document may show an epoch already
                break
        await self.send("PATCH-DOC", {"events": [self._event("document_ready", {})]})
        return time.monotonic() - t0

    @staticmethod
    def _event(name: str, values: dict) -> dict:
        return {"kind": "MessageSent", "msg_type": "bokeh_event", "msg_data": {"type": "event", "name": name, "values": values}}

    async def click(self, label: str) -> None:
        await self.send("PATCH-DOC", {"events": [self._event("button_click", {"model": {"id": self.models[label]}})]})

    async def set_speed(self, speed: str) -> None:
        change = {"kind": "ModelChanged", "model": {"id": self.models["speed"]}, "attr": "active", "new": SPEEDS.index(speed)}
        await self.send("PATCH-DOC", {"events": [change]})

    async def send(self, msgtype: str, content: dict) -> None:
        header = {"msgid": f"c{id(self)}-{time.monotonic_ns()}", "msgtype": msgtype}
        for part in (header, {}, content):
            await self.ws.write_message(json.dumps(part))

    async def _frame(self):
        frame = await self.ws.read_message()
        if frame is None:
            raise ConnectionError("the server closed the websocket")
        self.bytes += len(frame)
        return frame

    async def _message(self, parse: bool = False):
        header = json.loads(await self._frame())
        await self._frame()  # metadata
        content = await self._frame()
        for _ in range(header.get("num_buffers", 0)):
            await self._frame()  # buffer header
            await self._frame()  # buffer payload
        self.messages += 1
        if isinstance(content, str):
            self._look(content)
        return header["msgtype"], (json.loads(content) if parse else None)

    def _look(self, text: str) -> None:
        if self.watch is not None:
            for m in self.watch.finditer(text):
                self.matches.append((time.monotonic(), m.group(0)))

    @property
    def shown(self) -> bool:
        """Whether the page shows the run: an epoch of its status strip came (``watch``)."""
        return bool(self.matches)

    async def read_forever(self) -> None:
        try:
            while True:
                await self._message()
        except (ConnectionError, asyncio.CancelledError):
            pass

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()


def epochs_per_second(client: Client, t0: float, t1: float) -> float:
    seen = [(t, int(e.split(' /')[0])) for t, e in client.matches if t0 <= t <= t1 and not e.startswith('?')]
    if len(seen) < 2:
        return 0.0
    (ta, ea), (tb, eb) = seen[0], seen[-1]
    return (eb - ea) / (tb - ta) if tb > ta else 0.0


def lag_line(name: str, lag: dict) -> str:
    if not lag.get("n"):
        return f"{name}: no samples"
    return (f"{name:<34} p50 {lag['p50_ms']:6.1f} ms   p90 {lag['p90_ms']:6.1f} ms   p99 {lag['p99_ms']:7.1f} ms   "
            f"max {lag['max_ms']:7.1f} ms   (n={lag['n']})")  # fmt: skip


async def measure(base: str, pid: int, seconds: float) -> tuple[float, float, list[float], float]:
    """Wait ``seconds`` and return ``(start, end, [event-loop thread, whole server] CPU cores in use,
    the server's epochs per second over all its runs)``."""
    c0 = (cpu(pid, pid), cpu(pid))
    e0 = get_json(base + "growlab-status")["epochs"]
    t0 = time.monotonic()
    await asyncio.sleep(seconds)
    t1 = time.monotonic()
    use = [(b - a) / (t1 - t0) for a, b in zip(c0, (cpu(pid, pid), cpu(pid)))]
    served = (get_json(base + "growlab-status")["epochs"] - e0) / (time.monotonic() - t0)
    return t0, t1, use, served


async def classroom(base: str, args, pid: int) -> None:
    from tornado.httpclient import AsyncHTTPClient

    AsyncHTTPClient.configure(None, max_clients=args.viewers + args.trainers)
    loop_url = base + "growlab-loop"
    trainers = [Client(f"{base}?{args.query}", watch=EPOCH_RE) for _ in range(args.trainers)]
    teacher = trainers[0]
    loads = [await c.open() for c in trainers]
    tasks = [asyncio.ensure_future(c.read_forever()) for c in trainers]
    print(f"{args.trainers} trainer pages loaded: {', '.join(f'{t:.1f}' for t in loads)} s")
    teacher.watch = re.compile(r"(\d+) / 100000|\?follow=([A-Za-z0-9_-]+)")
    await teacher.click("Share live")
    token = None
    for _ in range(200):
        token = next((m.split("=", 1)[1] for _, m in teacher.matches if m.startswith("?follow=")), None)
        if token:
            break
        await asyncio.sleep(0.05)
    if token is None:
        raise SystemExit("the teacher's page never showed a follow link")
    teacher.watch = EPOCH_RE
    for c in trainers:
        if args.speed != "normal":
            await c.set_speed(args.speed)
        await c.click("Play")
    await asyncio.sleep(3)  # let training start
    get_json(loop_url + "?reset=1")
    t0, t1, use_alone, served_alone = await measure(base, pid, args.seconds)
    alone = get_json(loop_url + "?reset=1")
    rate_alone = [epochs_per_second(c, t0, t1) for c in trainers]

    viewers = [Client(f"{base}?follow={token}", watch=EPOCH_RE) for _ in range(args.viewers)]
    v0 = time.monotonic()
    view_loads: list[float] = []
    arrived: list[Client] = []

    async def arrive_one(v: Client) -> None:
        try:
            view_loads.append(await v.open())
            arrived.append(v)
        except Exception as e:  # counted as not connected
            print(f"a viewer could not connect: {type(e).__name__}: {e}")
            return
        tasks.append(asyncio.ensure_future(v.read_forever()))

    for v in viewers:  # a class arriving: one page after another (each built off the loop)
        try:
            await asyncio.wait_for(arrive_one(v), timeout=max(1.0, args.arrival - (time.monotonic() - v0)))
        except asyncio.TimeoutError:
            break
        if args.verbose:
            print(f"  viewer {len(arrived)} connected after {time.monotonic() - v0:.1f} s (loop {get_json(loop_url)})", flush=True)
    while time.monotonic() - v0 < args.arrival and not all(v.shown for v in arrived):
        await asyncio.sleep(0.2)  # until every page shows the teacher's epoch
    viewers = [v for v in arrived if v.shown]
    late = len(viewers) < args.viewers
    arrive = time.monotonic() - v0
    if late:
        print(f"only {len(viewers)} of {args.viewers} viewers had their page within --arrival {args.arrival:g} s")
    if not viewers:
        raise SystemExit("no viewer connected")
    during_arrival = get_json(loop_url + "?reset=1")
    status = get_json(base + "growlab-status")
    await asyncio.sleep(2)
    get_json(loop_url + "?reset=1")
    sent0 = sum(v.bytes for v in viewers)
    if args.profile:
        urllib.request.urlopen(loop_url + "?profile=start", timeout=30).read()
    t2, t3, use_class, served_class = await measure(base, pid, args.seconds)
    if args.profile:
        text = urllib.request.urlopen(loop_url + "?profile=stop", timeout=60).read().decode()
        Path(args.profile).write_text(text)
    with_class = get_json(loop_url + "?reset=1")
    sent = sum(v.bytes for v in viewers) - sent0
    rate_class = [epochs_per_second(c, t2, t3) for c in trainers]
    status_after = get_json(base + "growlab-status")

    print(f"machine: {os.cpu_count()} CPUs; setup: {args.query}; trainers at speed {args.speed!r}")
    print(lag_line(f"event loop, {args.trainers} training", alone))
    print(lag_line(f"event loop, + {len(viewers)} viewers arriving", during_arrival)
          + f"  ({arrive:.1f} s; page load median {sorted(view_loads)[len(view_loads) // 2]:.2f} s, max {max(view_loads):.2f} s)")
    print(lag_line(f"event loop, {args.trainers} training + {len(viewers)} viewers", with_class))
    print(f"server CPU (cores): event-loop thread {use_alone[0]:.2f}, whole process {use_alone[1]:.2f} with the trainers alone; "
          f"{use_class[0]:.2f} and {use_class[1]:.2f} with the class")
    print(f"trainers' epochs/s (the server's count, all {args.trainers}): {served_alone:.1f} alone, {served_class:.1f} with the viewers")
    print(f"  as their pages showed it: alone {', '.join(f'{r:.1f}' for r in rate_alone)}; "
          f"with viewers {', '.join(f'{r:.1f}' for r in rate_class)} (0: the page got no new epoch in the window)")
    print(f"server → viewers: {sent / (t3 - t2) / 1024:.0f} KiB/s in all ({sent / (t3 - t2) / 1024 / len(viewers):.1f} per viewer); "
          f"status: {status['viewers']} viewers of {status['shared']} shared run(s), {status_after['training']} training")
    p90 = with_class.get("p90_ms", float("inf"))
    print(f"target event-loop p90 ≤ 100 ms with the class connected: {'met' if p90 <= 100 else 'MISSED'} ({p90:.0f} ms)")
    for c in trainers + viewers:
        c.close()
    for t in tasks:
        t.cancel()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--viewers", type=int, default=30)
    ap.add_argument("--trainers", type=int, default=4, help="sessions training (the first one is the teacher)")
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each measurement")
    ap.add_argument("--speed", default="normal", choices=SPEEDS)
    ap.add_argument("--arrival", type=float, default=60.0, help="seconds the viewers have to connect (the run stays bounded)")
    ap.add_argument("--verbose", action="store_true", help="say when each viewer connects")
    ap.add_argument("--profile", default="", help="write where the event loop's time went (cProfile) to this file")
    ap.add_argument("--query", default=QUERY, help="the trainers' setup (keep epochs=100000: the epoch is read from it)")
    args = ap.parse_args()
    port = free_port()
    proc = start_server(port)
    try:
        asyncio.run(classroom(f"http://127.0.0.1:{port}/", args, proc.pid))
    finally:
        proc.terminate()
        proc.wait(timeout=20)


if __name__ == "__main__":
    main()
