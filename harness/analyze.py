"""``nasbench analyze``: the paper's dataset analysis (Section 3, supplement Fig. 7) of any table,
written as one page with figures and tables, each number beside the paper's.

:func:`load_table` opens a store, the surrogate or the real sample; :func:`compute` runs every
statistic the table supports (one line per statistic it cannot, saying why) and times each;
:func:`write` draws the figures, writes CSV/Markdown tables and ``index.html`` into a folder that
is replaced as a whole (it never holds a half-written analysis) and that must be new, empty or
an earlier analysis.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.analysis import Table, budgets, cost, distributions, locality, operations, shape
from benchmark.analysis.paper import INCEPTION_HASH, PAPER, RESNET_HASH
from benchmark.errors import UserError
from benchmark.fileutil import atomic_directory, atomic_write_text, why_not_replaceable

from . import analysis_figures, page

log = logging.getLogger(__name__)

FORMAT = "nasbench-harness-analysis"
MANIFEST = "analysis.json"
OP_NAMES = ("conv3x3", "conv1x1", "maxpool3x3")        # short names of OPS, in label order
DISTANCES = range(11)                                 # the volume statistic's d = 0..10
SHIFTS = np.arange(1, 101)                            # RWA shifts (sqrt up to 10)
PAGE_ROWS = 40                                        # longer tables: the CSV has them all
TOP_FRACTION_NAMES = {1.0: "all", 0.5: "top 50 %", 0.25: "top 25 %", 0.10: "top 10 %",
                      0.05: "top 5 %", 0.01: "top 1 %"}


class AnalysisError(UserError, ValueError):
    """A table that cannot be analysed or an output folder that may not be written."""


# ---- input -----------------------------------------------------------------------------------

def load_table(name: str | Path, seed: int = 0) -> Table:
    """``surrogate`` (the embedded table, draw ``seed``), a store folder (or an official
    ``.tfrecord``, converted on first use) or a real sample file (``.json``/``.json.gz``).

    Raises:
        AnalysisError: no such table; StoreError/DataFormatError: a file that is not one.
    """
    from benchmark.analysis import from_sample, from_store
    from benchmark.api import NASBench
    from benchmark.data.store import open_store
    from benchmark.space.enumeration import enumerate_cells

    text = str(name)
    if text == "surrogate":
        return from_store(NASBench.surrogate(seed).store)
    path = Path(text).expanduser()
    if path.is_dir():
        return from_store(open_store(path))
    if path.name.endswith((".json", ".json.gz")) and path.is_file():
        return from_sample(path, enumerate_cells(progress=False))
    if path.suffix == ".tfrecord" and path.is_file():
        return from_store(NASBench(path).store)
    if path.exists():
        raise AnalysisError(f"{path}: not a table: give a store folder, a .tfrecord, a sample "
                            "(.json or .json.gz) or 'surrogate'")
    raise AnalysisError(f"{text}: no such table: give a store folder, a .tfrecord, a sample "
                        "file (.json or .json.gz) or 'surrogate'")


def check_target(out: Path) -> None:
    """Refuse an output folder holding anything but an earlier analysis (nothing is changed)."""
    why = why_not_replaceable(out, MANIFEST, FORMAT, "holds files this command did not write")
    if why:
        raise AnalysisError(f"{out}: {why}")


# ---- statistics ------------------------------------------------------------------------------

@dataclass
class Analysis:
    """Everything computed: numbers (key -> value, keys of :data:`PAPER` among them), tables
    (DataFrames), series for the figures, notes (what could not be computed) and seconds per
    statistic."""

    table: Table
    numbers: dict[str, Any] = field(default_factory=dict)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    series: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    why_not: dict[str, str] = field(default_factory=dict)     # paper key -> reason


def compute(table: Table, seed: int = 0, walk_steps: int = 100_000,
            space_vertices: int = 7, progress: bool = False) -> Analysis:
    """Every statistic ``table`` supports; ``space_vertices`` < 7 restricts the locality
    statistics to encoding A over that many vertices (a sub-space, for checks)."""
    if not table.has("validation"):
        raise AnalysisError(f"{table.source or table.label}: no validation accuracy at 108 "
                            "epochs, which every statistic ranks cells by: nothing to analyse")
    result = Analysis(table)
    steps: list[tuple[str, Callable[[Analysis], None]]] = [
        ("distributions", _distributions), ("noise", _noise), ("cost", _cost),
        ("operation replacement", _operations), ("depth and width", _shape),
        ("budget correlations", _budgets)]
    for name, step in steps:
        _timed(result, name, partial(step, result))
    _locality(result, seed, walk_steps, space_vertices, progress)
    return result


def _timed(result: Analysis, name: str, step: Callable[[], object]) -> None:
    """Run one statistic, recording its wall and CPU seconds."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    step()
    result.seconds[name] = time.perf_counter() - t0
    result.cpu_seconds[name] = time.process_time() - cpu0


def _cannot(result: Analysis, what: str, why: str, keys: tuple[str, ...] = ()) -> None:
    result.notes.append(f"{what}: {why}")
    for key in keys:
        result.why_not[key] = why


def fitness_metric(table: Table) -> str:
    """The accuracy the best and top cells are chosen by (the paper's mean test accuracy),
    validation where a table has no test accuracy."""
    return "test" if table.has("test") else "validation"


def _distributions(result: Analysis) -> None:
    t, num = result.table, result.numbers
    means = {m: t.mean(m) for m in ("train", "validation", "test") if t.has(m)}
    result.series["ecdf"] = {m: distributions.ecdf(v) for m, v in means.items()}
    one_run = "" if t.repeats > 1 else " (one run)"
    for m in ("train", "test"):
        if m not in means:
            _cannot(result, f"{m} accuracy", f"the table holds no {m} accuracy at 108 epochs")
    rows = []
    for m, v in means.items():
        rows.append({"metric": f"{m} accuracy at 108 epochs{one_run}",
                     "cells": int(np.isfinite(v).sum()),
                     "share_above_90": distributions.share_above(v, 0.9),
                     "share_at_100": distributions.share_above(v, 1 - 1e-9),
                     "median": float(np.nanmedian(v)), "max": float(np.nanmax(v))})
    result.frames["accuracy"] = pd.DataFrame(rows)
    num["above_90"] = {m: distributions.share_above(v, 0.9) for m, v in means.items()}
    if "test" in means:
        row, value = distributions.best(means["test"])
        num["best_test"], num["best_hash"] = value, t.hashes[row].decode()
        for key, h in (("resnet_test", RESNET_HASH), ("inception_test", INCEPTION_HASH)):
            r = t.row(h)
            if r >= 0:
                num[key] = float(means["test"][r])
            else:
                result.why_not[key] = "the table does not hold this cell"
        num["valid_test_r"] = distributions.pearson(means["validation"], means["test"])
    else:
        why = "the table holds no test accuracy"
        for key in ("best_test", "resnet_test", "inception_test", "valid_test_r"):
            result.why_not[key] = why
        row, value = distributions.best(means["validation"])
        num["best_validation"], num["best_hash"] = value, t.hashes[row].decode()


def _noise(result: Analysis) -> None:
    t = result.table
    if t.repeats < 2:
        _cannot(result, "noise (std of test accuracy over repeats)",
                f"the table holds {t.repeats} run per cell, no repeats")
        return
    if not t.has("test"):
        _cannot(result, "noise", "the table holds no test accuracy")
        return
    out = {}
    for b in t.budgets:
        if t.has("test", b):
            out[b] = distributions.repeat_std(t.at("test", b))
    result.series["noise"] = {b: distributions.ecdf(v) for b, v in out.items()}
    result.frames["noise"] = pd.DataFrame(
        [{"epochs": b, "cells": int(np.isfinite(v).sum()), "median_std": float(np.nanmedian(v)),
          "mean_std": float(np.nanmean(v))} for b, v in out.items()])


def _cost(result: Analysis) -> None:
    t = result.table
    if not t.has("time"):
        _cannot(result, "cost figures", "the table holds no 108-epoch training time")
        return
    accuracy, seconds = t.mean("validation"), t.mean("time")
    front = cost.pareto_front(seconds, accuracy)
    marked = {}
    for name, h in (("ResNet-like", RESNET_HASH), ("Inception-like", INCEPTION_HASH)):
        if t.row(h) >= 0:
            marked[name] = t.row(h)
    best_row = t.row(result.numbers["best_hash"])
    marked["best"] = best_row
    inception = t.row(INCEPTION_HASH)
    neighbours = np.zeros(0, np.int64)
    if inception >= 0:
        space = _space(result, 7)
        n = int(t.num_vertices[inception])
        point = locality.point_of(space, t.matrices[inception], t.labels[inception, :n])
        neighbours = locality.neighbours(space, *point)
        if not t.complete:
            result.notes.append(f"Inception-like cell's 1-edit neighbours: only the "
                                f"{neighbours.size} this partial table holds are shown")
    else:
        result.notes.append("Inception-like cell's 1-edit neighbours: the table does not hold "
                            "the Inception-like cell")
    result.series["cost"] = {"params": np.asarray(t.parameters, np.float64), "time": seconds,
                             "accuracy": accuracy, "front": front, "marked": marked,
                             "neighbours": neighbours}
    result.frames["pareto_front"] = pd.DataFrame({
        "hash": [t.hashes[r].decode() for r in front], "time_108": seconds[front],
        "validation_accuracy": accuracy[front], "parameters": np.asarray(t.parameters)[front]})


def _space(result: Analysis, n: int) -> locality.EncodedSpace:
    key = f"space{n}"
    if key not in result.series:
        t = result.table
        result.series[key] = locality.encoded_space(t.graph_offset, t.graph_id, t.cell_of, n)
    return result.series[key]


def _operations(result: Analysis) -> None:
    t = result.table
    if not t.has("time"):
        _cannot(result, "operation replacement", "the table holds no training time",
                ("c3_c1", "c3_mp", "c1_mp"))
        return
    pairs = operations.replacement_pairs(t.matrices, t.labels, t.num_vertices, t.graph_offset,
                                         t.graph_id, t.cell_of)
    effects = operations.replacement_effects(pairs, t.mean("validation"), t.mean("time"))
    result.frames["operation_replacement"] = pd.DataFrame(
        [{"from": OP_NAMES[e.a], "to": OP_NAMES[e.b], "cell_pairs": e.pairs,
          "validation_accuracy_change": e.accuracy_change,
          "training_time_change": e.time_change} for e in effects])
    by = {(e.a, e.b): e for e in effects}
    for key, (a, b) in (("c3_c1", (0, 1)), ("c3_mp", (0, 2)), ("c1_mp", (1, 2))):
        e = by[(a, b)]
        if e.pairs:
            result.numbers[key] = (e.accuracy_change, e.time_change)
        else:
            result.why_not[key] = "no pair of cells in the table differs by this replacement"


def _shape(result: Analysis) -> None:
    t = result.table
    features = {"depth": shape.depth(t.matrices, t.num_vertices),
                "width": shape.width(t.matrices, t.num_vertices)}
    metric = fitness_metric(t)
    rows = []
    for name, keys in features.items():
        uniq, counts, acc = shape.group_means(keys, t.mean(metric))
        seconds = (shape.group_means(keys, t.mean("time"))[2] if t.has("time")
                   else np.full(uniq.size, np.nan))
        rows += [{"feature": name, "value": int(u), "cells": int(c),
                  f"mean_{metric}_accuracy": float(a), "mean_training_time": float(s)}
                 for u, c, a, s in zip(uniq, counts, acc, seconds)]
        result.numbers[f"best_{name}"] = int(uniq[np.argmax(acc)])
    result.frames["depth_width"] = pd.DataFrame(rows)


def _budgets(result: Analysis) -> None:
    t = result.table
    have = [b for b in t.budgets if t.has("validation", b)]
    if len(have) < 2:
        _cannot(result, "budget correlations", "the table holds fewer than two budgets",
                ("rho_36_108_top10",))
        return
    values = np.stack([t.mean("validation", b) for b in have], axis=1)
    frame = pd.DataFrame(budgets.budget_correlations(values, have))
    result.frames["budget_correlations"] = frame
    hit = frame[(frame.top == 0.10) & (frame.budget_a == 36) & (frame.budget_b == 108)]
    if len(hit):
        result.numbers["rho_36_108_top10"] = float(hit.spearman.iloc[0])
    else:
        result.why_not["rho_36_108_top10"] = "the table lacks 36 or 108 epochs"
    if t.repeats == 1:
        result.notes.append("budget correlations: one run per cell, so its noise lowers them "
                            "(the paper ranks the mean of 3 runs)")


LOCALITY_KEYS = ("rwa_distance", "fdc_width", "best_points", "near_best", "top_points",
                 "top_chance", "within_6")


def _locality(result: Analysis, seed: int, walk_steps: int, n: int, progress: bool) -> None:
    t = result.table
    if not t.complete:
        _cannot(result, "locality (random walk, FDC, points and volume of the top cells)",
                f"needs every cell of the space (423,624) and the table holds {len(t):,}",
                LOCALITY_KEYS)
        return
    metric = fitness_metric(t)
    fitness = t.mean(metric)
    _timed(result, "encoded space look-up", partial(_space, result, n))
    space = _space(result, n)            # built just now, held in result.series

    best_row = int(np.nanargmax(fitness))
    se = (float(distributions.standard_error(t.at(metric)[best_row])) if t.repeats >= 2
          else float("nan"))
    repeated = bool(np.isfinite(se))
    if repeated:
        top = distributions.near_best(fitness, se)
    else:
        top = np.array([best_row])
        _cannot(result, "cells within 2 standard errors of the best",
                "the best cell has no repeated runs, so no standard error",
                ("near_best", "top_points", "top_chance", "within_6"))
    num = result.numbers

    def points() -> None:
        counts = locality.points_per_row(space, len(t))
        num["best_points"] = int(counts[best_row])
        if repeated:
            num["near_best"] = int(top.size - 1)
            num["top_points"] = int(counts[top].sum())
            num["top_chance"] = num["top_points"] / space.size
        result.frames["top_cells"] = pd.DataFrame({
            "hash": [t.hashes[r].decode() for r in top], f"mean_{metric}_accuracy": fitness[top],
            "encoded_points": counts[top]})

    def volume() -> None:
        dist = locality.distance_to(space, top)
        total = locality.distance_histogram(dist)
        valid = locality.distance_histogram(dist, space.valid_masks())
        frame = pd.DataFrame({"distance": list(DISTANCES),
                              "share_of_encoded_space": [total[:d + 1].sum() / space.size
                                                         for d in DISTANCES],
                              "share_of_valid_points": [valid[:d + 1].sum() / valid.sum()
                                                        for d in DISTANCES]})
        result.frames["volume_near_top"] = frame
        if repeated:
            num["within_6"] = float(frame.share_of_encoded_space[6])

    def fdc() -> None:
        dist = locality.distance_to(space, [best_row])
        sums = locality.fitness_by_distance(space, dist, fitness)
        reached = np.flatnonzero(sums["count"])
        mean = sums["sum"][reached] / sums["count"][reached]
        frame = pd.DataFrame({"distance": reached, "points": sums["count"][reached],
                              f"mean_{metric}_accuracy": mean})
        result.frames["fdc"] = frame
        num["fdc"] = locality.fdc(sums)
        overall = sums["sum"].sum() / sums["count"].sum()
        at_mean = reached[mean <= overall]
        num["fdc_width"] = int(at_mean[0]) if at_mean.size else float("nan")

    def walk() -> None:
        rows = locality.random_walk(space, walk_steps, np.random.default_rng(seed))
        values = fitness[rows]
        shifts = SHIFTS[SHIFTS < walk_steps // 2]
        rwa = locality.autocorrelation(values, shifts)
        result.frames["rwa"] = pd.DataFrame({"shift": shifts, "sqrt_shift": np.sqrt(shifts),
                                             "autocorrelation": rwa})
        result.series["rwa_bound"] = 1.96 / np.sqrt(values.size)
        num["rwa_distance"] = locality.noise_distance(shifts, rwa, values.size)

    from tqdm import tqdm

    parts = {"points of the top cells": points,
             "volume within distance d of the top cells": volume,
             "fitness-distance correlation": fdc, "random-walk autocorrelation": walk}
    with tqdm(total=len(parts), desc="locality in encoding A", unit="statistic",
              disable=not progress) as bar:
        for name, fn in parts.items():
            bar.set_postfix_str(name)
            _timed(result, name, fn)
            bar.update()
    if n != 7:
        result.notes.append(f"locality statistics over encoding A restricted to {n}-vertex "
                            "cells (a sub-space), not the paper's 7-vertex space")


# ---- output ----------------------------------------------------------------------------------

def side_by_side(result: Analysis) -> pd.DataFrame:
    """Every number the paper states, its section, and this table's value (or why not)."""
    rows = []
    for key, (section, what, stated, _) in PAPER.items():
        value = result.numbers.get(key)
        rows.append({"statistic": what, "section": section, "paper": stated,
                     "this table": _show(key, value) if value is not None
                     else f"n/a: {result.why_not.get(key, 'not computed')}"})
    return pd.DataFrame(rows)


def _show(key: str, value: Any) -> str:
    if key in ("c3_c1", "c3_mp", "c1_mp"):
        return f"{100 * value[0]:+.2f} % / {100 * value[1]:+.2f} %"
    if key == "above_90":
        return ", ".join(f"{m} {100 * v:.1f} %" for m, v in value.items())
    if key in ("best_test", "resnet_test", "inception_test", "within_6"):
        return f"{100 * value:.2f} %"
    if key == "top_chance":
        return f"1 in {1 / value:,.0f}" if value else "0"
    if key in ("valid_test_r", "rho_36_108_top10"):
        return f"{value:.3f}"
    if key in ("top_points", "best_points", "near_best"):
        return f"{value:,}"
    if key in ("rwa_distance",):
        return f"{value:.1f}"
    return str(value)


SURROGATE_CAVEAT = (
    "This is the embedded surrogate table, not NAS-Bench-101: its marginal distributions (the "
    "accuracy ECDFs, the share above 90 %, training times, budget-wise spreads) are fitted to "
    "real runs and can be compared; do NOT trust it for which cell is best and that cell's "
    "value, the hand-designed cells' values, the cells near the best, their encoded points and "
    "the volume near them, the random-walk autocorrelation and FDC (the landscape of a "
    "regression model, smoother than the real one), the noise (modelled, not measured) nor "
    "the rank correlations among the top cells.")


def write(result: Analysis, out: Path, command: str = "") -> Path:
    """Figures (PNG, PDF), tables (CSV, Markdown), ``analysis.json`` and ``index.html`` in a
    temporary folder renamed onto ``out`` at the end."""
    out = Path(out)
    check_target(out)
    t = result.table
    with atomic_directory(out) as tmp:
        items: list[page.Item] = []
        frame = side_by_side(result)
        md = _markdown(frame)
        _write_table(tmp, "side_by_side", frame, md)
        intro = SURROGATE_CAVEAT if t.surrogate else ""
        items.append(page.Item("The paper's numbers beside this table's",
                               markdown=(f"{intro}\n\n" if intro else "") + md))
        for stem, caption in analysis_figures.draw(result, tmp):
            items.append(page.Item(caption, figure=tmp / f"{stem}.png"))
        for stem, title in (("accuracy", "Accuracy at 108 epochs"),
                            ("noise", "Noise: std of test accuracy over the repeats"),
                            ("operation_replacement", "Operation replacement (Section 3.2)"),
                            ("depth_width", "Depth and width (Section 3.2)"),
                            ("top_cells", "The best cell and the cells within 2 s.e."),
                            ("volume_near_top", "Encoded space within distance d of the "
                                                "closest top cell"),
                            ("fdc", "Mean accuracy by distance to the global best (FDC)"),
                            ("budget_correlations", "Spearman rank correlation between "
                                                    "budgets (supplement Fig. 7)"),
                            ("rwa", "Random-walk autocorrelation"),
                            ("pareto_front", "Pareto front: validation accuracy vs time")):
            if stem in result.frames:
                frame = result.frames[stem]
                _write_table(tmp, stem, frame, _markdown(frame))
                if stem not in ("rwa", "pareto_front"):
                    shown = _markdown(frame.head(PAGE_ROWS)) + (
                        f"\nThe first {PAGE_ROWS} of {len(frame)} rows; all in {stem}.csv.\n"
                        if len(frame) > PAGE_ROWS else "")
                    items.append(page.Item(title, markdown=shown))
        manifest = {"format": FORMAT, "table": t.label, "source": t.source,
                    "surrogate": t.surrogate, "cells": len(t), "command": command,
                    "numbers": {k: v for k, v in result.numbers.items()},
                    "notes": result.notes}
        atomic_write_text(tmp / MANIFEST, json.dumps(manifest, indent=2, default=float) + "\n")
        badge = (("surrogate", "surrogate table: NOT NAS-Bench-101 results") if t.surrogate
                 else ("real", "real NAS-Bench-101 data"))
        tail = ["<h2>Table</h2>", page.dict_table(
            {"table": t.label, "source": t.source, "cells": f"{len(t):,}",
             "budgets": ", ".join(map(str, t.budgets)), "repeats": t.repeats,
             "metrics": ", ".join(t.metrics)}),
                "<h2>Software</h2>", page.dict_table(page.versions())]
        page.write_page(tmp / "index.html", f"Dataset analysis: {t.label}", badge,
                        f"{len(t):,} cells; the paper's Section 3 and supplement Fig. 7",
                        items, result.notes, tail, "None: every statistic could be computed.")
    return out


def _write_table(folder: Path, stem: str, frame: pd.DataFrame, markdown: str) -> None:
    atomic_write_text(folder / f"{stem}.csv", frame.to_csv(index=False))
    atomic_write_text(folder / f"{stem}.md", markdown)


def _markdown(frame: pd.DataFrame) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, (float, np.floating)):
            return "n/a" if not np.isfinite(v) else f"{v:.4g}"
        return str(v).replace("|", "/")

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |",
             "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |"
              for row in frame.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def analyze(name: str | Path, out: str | Path, seed: int = 0, walk_steps: int = 100_000,
            progress: bool = True) -> Path:
    """Load a table, compute every statistic it supports, write the folder
    (``nasbench analyze``).

    Args:
        name: ``surrogate``, a store directory or an official ``.tfrecord``.
        out: the folder to write (replaced only if it holds an earlier analysis).
        seed: seeds the surrogate's draw and the random walks.
        walk_steps: steps of the random-walk autocorrelation.
        progress: show progress bars.

    Returns:
        ``out``.

    Raises:
        AnalysisError: an ``out`` that is not an analysis folder.
        UserError: a table that cannot be read.
    """
    out = Path(out)
    check_target(out)           # before minutes of work, not after
    table = load_table(name, seed)
    result = compute(table, seed=seed, walk_steps=walk_steps, progress=progress)
    for note in result.notes:
        log.warning("%s", note)
    return write(result, out, command=f"nasbench analyze {name}")


__all__ = ["Analysis", "AnalysisError", "analyze", "check_target", "compute", "load_table",
           "side_by_side", "write"]
