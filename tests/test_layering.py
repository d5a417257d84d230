"""DESIGN §1: imports flow one way; the engine and methods never import UI libraries."""

import ast
import pathlib
import subprocess
import sys

PKG = pathlib.Path(__file__).resolve().parents[1] / "growlab"
UI_LIBS = {"panel", "bokeh", "ipywidgets", "jupyter_bokeh", "param"}
# package → packages it must not import (its "upward" neighbours)
FORBIDDEN = {
    "data": {"engine", "methods", "analysis", "run", "experiment", "ui"},
    "engine": {"methods", "analysis", "run", "experiment", "ui"},
    "methods": {"analysis", "run", "experiment", "ui"},
    "analysis": {"run", "experiment", "ui"},
    "run": {"experiment", "ui"},
    "experiment": {"ui"},
}


# package → UI libraries it may import inside a function (never at module level): experiment
# results draw their Bokeh figures on demand, so `import growlab.experiment` stays light
LAZY_UI = {"experiment": {"bokeh"}}


def _imports(path):
    """``(module, inside_a_function)`` for every import in ``path``."""
    tree = ast.parse(path.read_text())
    lazy = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in ast.walk(f)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((a.name, id(node) in lazy) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, id(node) in lazy


def test_lower_layers_never_import_ui_or_upper_layers():
    problems = []
    for pkg, forbidden in FORBIDDEN.items():
        for path in (PKG / pkg).rglob("*.py"):
            for mod, lazy in _imports(path):
                top = mod.split(".")[0]
                if top in UI_LIBS and not (lazy and top in LAZY_UI.get(pkg, ())):
                    problems.append(f"{path.relative_to(PKG)} imports {mod}")
                parts = mod.split(".")
                if parts[0] == "growlab" and len(parts) > 1 and parts[1] in forbidden:
                    problems.append(f"{path.relative_to(PKG)} imports {mod}")
    assert not problems, "\n".join(problems)


def test_importing_growlab_does_not_import_panel():
    code = "import sys, growlab; growlab.Run; print('panel' in sys.modules, 'bokeh' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
