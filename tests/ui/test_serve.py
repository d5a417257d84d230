"""``growlab serve`` without starting a server: arguments, origins, ports, the panel-free import."""

from __future__ import annotations

import socket

import pytest

from growlab.cli import build_parser
from growlab.ui.serve import free_port, serve, websocket_origins


def test_serve_arguments_and_defaults():
    args = build_parser().parse_args(["serve"])
    assert (args.port, args.address, args.show, args.max_runs) == (5006, "127.0.0.1", False, None)
    args = build_parser().parse_args(["serve", "--port", "0", "--address", "0.0.0.0", "--show", "--max-runs", "3"])
    assert (args.port, args.address, args.show, args.max_runs) == (0, "0.0.0.0", True, 3)


def test_loopback_origins_are_only_local():
    assert websocket_origins("127.0.0.1", 5006) == ["127.0.0.1:5006", "localhost:5006"]
    assert websocket_origins("10.0.0.5", 80, ["proxy.example"]) == ["10.0.0.5:80", "proxy.example:80"]
    wide = websocket_origins("0.0.0.0", 5006)
    assert "localhost:5006" in wide and f"{socket.gethostname()}:5006" in wide and "*" not in "".join(wide)


def test_free_port_is_free():
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # nobody holds it


@pytest.mark.parametrize("kw, message", [
    ({"port": 70000}, "port"), ({"max_runs": 0}, "max_runs"), ({"session_lifetime": 1}, "at least 5"),
])  # fmt: skip
def test_bad_serve_settings_are_refused_before_serving(kw, message):
    with pytest.raises(ValueError, match=message):
        serve(**kw)


@pytest.mark.parametrize("value", ["fast", "0", "-1", "nan", "2"])
def test_a_bad_switch_interval_in_the_environment_is_refused_by_name(value, monkeypatch, capsys):
    from growlab.cli import main
    from growlab.ui.serve import SWITCH_INTERVAL_S, switch_interval

    monkeypatch.setenv("GROWLAB_SWITCH_INTERVAL", value)
    with pytest.raises(ValueError, match="GROWLAB_SWITCH_INTERVAL must be a number of seconds"):
        serve()
    assert main(["serve", "--port", str(free_port())]) == 2  # one line, no traceback, nothing served
    assert "GROWLAB_SWITCH_INTERVAL" in capsys.readouterr().err
    monkeypatch.setenv("GROWLAB_SWITCH_INTERVAL", " 0.002 ")
    assert switch_interval() == 0.002
    monkeypatch.delenv("GROWLAB_SWITCH_INTERVAL")
    assert switch_interval() == SWITCH_INTERVAL_S


def test_the_panel_serve_script_builds_the_app():
    """``panel serve apps/growlab.py`` runs this file once per session."""
    import runpy
    from pathlib import Path

    from growlab.run.runner import open_runners

    before = set(map(id, open_runners()))
    runpy.run_path(str(Path(__file__).resolve().parents[2] / "apps" / "growlab.py"))
    new = [r for r in open_runners() if id(r) not in before]
    assert len(new) == 1 and new[0].snapshot.dataset == "heart"
    new[0].close()
