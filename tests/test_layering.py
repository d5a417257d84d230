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


def _type_checking_only(tree) -> set[int]:
    """Nodes under ``if TYPE_CHECKING:`` (read by type checkers, never imported)."""
    blocks = [n for n in ast.walk(tree) if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test)]
    return {id(m) for b in blocks for stmt in b.body for m in ast.walk(stmt)}


def _targets(name: str, path: pathlib.Path, modules) -> list[tuple[str, int]]:
    """``(module, line)`` of every growlab module ``path`` imports, at module level or inside a
    function (``from growlab.x import y`` names ``growlab.x.y`` when that is a module; relative
    imports resolved)."""
    tree = ast.parse(path.read_text())
    skip = _type_checking_only(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            found += [(f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base, node.lineno) for a in node.names]
    resolved = []
    for mod, line in found:
        while mod and mod not in modules:  # `from growlab.x import y` where y is a name in growlab.x
            mod = mod.rpartition(".")[0]
        # a package's __init__ gathering its modules is not a cycle with them
        if mod and mod != name and not name.startswith(mod + "."):
            resolved.append((mod, line))
    return resolved


def import_cycles() -> list[str]:
    """Every cycle among growlab's modules, lazy imports (inside functions) included: an import
    in a function still ties the two modules together, and runs half-initialised modules when the
    function is called during an import."""
    modules = {_module_name(p): p for p in PKG.rglob("*.py")}
    graph = {name: dict(_targets(name, path, modules)) for name, path in modules.items()}
    cycles, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        for dep in sorted(graph[node]):
            if state.get(dep) == "open":
                loop = stack[stack.index(dep) :] + [dep]
                cycles.append(" → ".join(f"{a} (line {graph[a][b]})" for a, b in zip(loop, loop[1:])) + f" → {dep}")
            elif dep not in state:
                visit(dep, stack + [dep])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return cycles


def test_no_import_cycles_between_growlab_modules():
    cycles = import_cycles()
    assert not cycles, "\n".join(cycles)


def test_the_cycle_check_sees_imports_inside_functions(tmp_path, monkeypatch):
    """The check is not hollow: a lazy import that closes a loop is reported."""
    pkg = tmp_path / "growlab"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "a.py").write_text("from growlab.sub.b import f\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from . import a\n")
    (pkg / "sub" / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from growlab.sub import a\n")
    (pkg / "sub" / "d.py").write_text("from growlab.sub import c\n")
    monkeypatch.setattr(sys.modules[__name__], "PKG", pkg)
    assert import_cycles() == ["growlab.sub.a (line 1) → growlab.sub.b (line 2) → growlab.sub.a"]


def test_recording_a_run_draws_without_the_ui(tmp_path):
    """``run.record`` and ``growlab record`` share the app's colours and layout (growlab.view), not its UI."""
    code = (
        "import sys, growlab; run = growlab.Run('heart', '4', 'random', epochs=2, sparsity=0.5); run.run(); "
        f"run.record({str(tmp_path / 'life.gif')!r}, progress=False); print('panel' in sys.modules, 'bokeh' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split()[-2:] == ["False", "False"] and (tmp_path / "life.gif").stat().st_size > 0


#: Panel / Bokeh / jupyter_bokeh internals growlab uses: reached through growlab.ui.compat only
INTERNALS = {
    "_on_msg", "_sync_model", "_document_patched", "_stylesheets", "_value_edit", "_slider", "_loaded_extensions",
    "_loaded", "_views", "_models", "_resources", "_periodic", "_notification_watchers", "_background",
}  # fmt: skip
HOOKS = {"_on_msg", "_sync_model", "_document_patched"}


def test_library_internals_are_used_in_the_compat_module_only():
    problems = []
    for path in PKG.rglob("*.py"):
        if path.relative_to(PKG).as_posix() == "ui/compat.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute):  # a library object's internal (growlab's own self._x are its own)
                own = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
                name = None if own else node.attr
            else:  # overriding a library's message hook
                name = getattr(node, "name", None) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None
                name = name if name in HOOKS else None
            if name in INTERNALS:
                problems.append(f"{path.relative_to(PKG)}:{node.lineno} uses {name}")
    assert not problems, "\n".join(problems)


def test_the_served_app_does_not_load_the_notebook_code():
    """``growlab serve`` and ``panel serve apps/growlab.py`` build the app without ``Lab``, its
    notebook views or the widget libraries; ``growlab.Lab`` still works, imported on first use."""
    code = (
        "import sys; from growlab.ui import create_app; create_app(); "
        "print(*[m for m in ('growlab.ui.lab', 'growlab.ui.notebook', 'jupyter_bokeh', 'ipywidgets') if m in sys.modules]); "
        "import growlab, growlab.ui; print(growlab.Lab is growlab.ui.Lab is sys.modules['growlab.ui.lab'].Lab)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["", "True"]
