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
    "view": {"engine", "methods", "analysis", "run", "experiment", "ui"},  # colours and layout: numbers only
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


# what importing a part of growlab must not pull in: the UI libraries (DESIGN §1) and, for
# `import growlab`, the heavy scientific modules only a dataset split or a test needs
HEAVY = ("panel", "bokeh", "sklearn", "scipy.stats")


def test_importing_growlab_its_cli_and_experiments_pulls_in_no_ui_and_nothing_heavy():
    code = (
        "import sys, growlab, growlab.experiment, growlab.run.runner, growlab.cli; growlab.Run; "
        "growlab.cli.build_parser(); print(*[m for m in %r if m in sys.modules])" % (HEAVY,)
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == []


def _module_name(path: pathlib.Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def test_no_import_cycles_between_growlab_modules():
    """Module-level imports only (an import inside a function runs later and cannot deadlock)."""
    modules = {_module_name(p): p for p in PKG.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        deps = set()
        for mod, lazy in _imports(path):
            # `from growlab.x import y`: y may be a submodule; `import growlab.x.y` names it
            while mod and mod not in modules:
                mod = mod.rpartition(".")[0]
            if not lazy and mod and mod != name and mod.startswith("growlab") and not name.startswith(mod + "."):
                deps.add(mod)
        graph[name] = deps
    cycles, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        for dep in sorted(graph[node]):
            if state.get(dep) == "open":
                cycles.append(" → ".join(stack[stack.index(dep) :] + [dep]))
            elif dep not in state:
                visit(dep, stack + [dep])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "\n".join(cycles)


def test_recording_a_run_draws_without_the_ui(tmp_path):
    """``run.record`` and ``growlab record`` share the app's colours and layout (growlab.view), not its UI."""
    code = (
        "import sys, growlab; run = growlab.Run('heart', '4', 'random', epochs=2, sparsity=0.5); run.run(); "
        f"run.record({str(tmp_path / 'life.gif')!r}, progress=False); print('panel' in sys.modules, 'bokeh' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split()[-2:] == ["False", "False"] and (tmp_path / "life.gif").stat().st_size > 0
