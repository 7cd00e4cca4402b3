"""The import graph: the packages depend one way, and the harness's layers have no cycle.

Every import counts, the lazy ones inside functions included (they hide a cycle, they do not
remove it); imports by name through ``importlib`` (the backend table) are not edges.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from .conftest import ROOT

PACKAGES = ("benchmark", "optimizers", "harness", "trainer")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """The project modules ``path`` imports (a package's ``from . import x`` names x)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    modules = {module_name(p) for p in _sources()}
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            for alias in node.names:   # a submodule by name, else a name from the module
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in modules else target)
    return {m for m in found if m in modules and m != name}


def _sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in _sources()}


def test_packages_depend_one_way(graph):
    allowed = {"benchmark": {"benchmark", "trainer"},   # trainer: compat's evaluate, lazily
               "optimizers": {"optimizers"},
               "trainer": {"trainer", "benchmark.space"},
               "harness": set(PACKAGES)}
    for module, targets in graph.items():
        top = module.split(".")[0]
        for target in targets:
            ok = any(target == a or target.startswith(a + ".") for a in allowed[top])
            assert ok, f"{module} imports {target}"
    trainer_users = {m for m, t in graph.items() if m.startswith("benchmark")
                     and any(x.startswith("trainer") for x in t)}
    assert trainer_users == {"benchmark.compat.nasbench_api"}


def test_the_harness_has_no_import_cycle(graph):
    harness = {m: {t for t in ts if t.startswith("harness")} for m, ts in graph.items()
               if m.startswith("harness")}
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(harness.get(module, ())):
            if state.get(target) == 1:
                cycle = path[path.index(target):] + [target] if target in path else [target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if not state.get(target):
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(harness):
        if not state.get(module):
            visit(module, [module])


def test_the_layers_of_running_an_experiment(graph):
    """experiment file -> plan -> backends (the run task, the cluster) -> results -> report."""
    def uses(module: str) -> set[str]:
        return {t.removeprefix("harness.") for t in graph[f"harness.{module}"]
                if t.startswith("harness")}

    assert uses("config") == set()            # the schema and loader need nothing else
    assert uses("events") == set()
    assert uses("bookkeeping") == {"events"}   # the simulator's and the live loop's
    assert uses("simulator") <= {"bookkeeping", "events"}
    assert uses("results") <= {"config", "events"}
    assert uses("plan") <= {"config", "results"}
    assert uses("watchdog") == set()
    assert uses("interrupts") == set()         # SIGTERM as Ctrl-C: the CLI imports it first
    assert uses("task") <= {"config", "plan", "results", "simulator", "events", "watchdog"}
    for backend in ("local_backend", "ray_backend", "live"):
        assert "runner" not in uses(backend) and "backends" not in uses(backend)
        assert uses(backend) <= {"config", "plan", "task", "cluster", "results", "events",
                                 "simulator", "bookkeeping", "trainer_actor", "node_check",
                                 "watchdog", "interrupts"}
    assert uses("node_check") <= {"config", "task"}
    assert uses("report") <= {"results", "figures", "page", "stats", "sensitivity", "speedup",
                              "report_tables", "report_text"}
    assert uses("report_tables") <= {"results", "stats"}          # the numbers
    assert uses("report_text") <= {"results", "figures", "stats"}  # their words
    assert uses("sensitivity") <= {"config", "figures", "page"}   # the grids' figure
    assert uses("speedup") <= {"page"}                            # against random search
    assert not uses("table_builder") & {"runner", "task", "plan", "backends"}


def test_the_analysis_layers(graph):
    """benchmark.analysis: pure statistics over arrays (no harness); harness.analyze draws and
    writes them through the shared page and figure helpers, and nothing else of the harness."""
    def uses(module: str) -> set[str]:
        return {t.removeprefix("harness.") for t in graph[f"harness.{module}"]
                if t.startswith("harness")}

    analysis = {m for m in graph if m.startswith("benchmark.analysis")}
    assert {"benchmark.analysis.locality", "benchmark.analysis.operations"} <= analysis
    for module in analysis:
        assert all(t.startswith("benchmark") for t in graph[module]), module
    assert uses("analyze") <= {"analysis_figures", "page"}
    assert uses("analysis_figures") <= {"figures"}
    assert uses("cli.analyze") <= {"cli.util", "analyze"}
