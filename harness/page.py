"""The report's one page, ``report/index.html``: static, self-contained (figures inline as PNG),
readable top to bottom: what was compared on which data, the regret figure, the tables, the
statistics, the notes on what could not be computed, then settings, provenance and versions.
:func:`write_page` is the page writer itself, shared with the dataset analysis's page."""
from __future__ import annotations

import base64
import html
import json
import platform
import re
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from benchmark.fileutil import atomic_write_text

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
.label { display: inline-block; padding: .2em .6em; border-radius: .3em; font-weight: 600; }
.surrogate { background: #fde8c8; } .real { background: #d4eed9; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; }
figcaption { font-size: .9em; color: #555; }
table { border-collapse: collapse; font-size: .85em; margin: .8em 0; }
th, td { border: 1px solid #ccc; padding: .25em .5em; } td { text-align: right; }
td:first-child { text-align: left; }
pre { background: #f6f6f6; padding: .8em; overflow-x: auto; font-size: .85em; }
.notes li { color: #8a4b00; }
"""


@dataclass(frozen=True)
class Item:
    """A figure (its PNG) or a table (Markdown, as the reporter writes it)."""

    caption: str
    figure: Path | None = None
    markdown: str = ""


def write(path: Path, folder: Path, title: str, items: list[Item], notes: list[str],
          facts: list[dict[str, Any]]) -> None:
    surrogate = any(f.get("surrogate") for f in facts)
    kind = ("surrogate" if surrogate else "real",
            "surrogate table: NOT NAS-Bench-101 results" if surrogate else
            "trained live" if any(f.get("live") for f in facts) else "real NAS-Bench-101 data")
    write_page(path, title, kind, f"Results folder: <code>{_e(str(folder.resolve()))}</code>",
               items, notes, _provenance(folder),
               "None: every test and figure could be computed.")


def write_page(path: Path, title: str, badge: tuple[str, str], subtitle_html: str,
               items: list[Item], notes: list[str], tail: list[str], no_notes: str) -> None:
    """One self-contained page: title, a badge (css class ``real``/``surrogate``, text), a
    subtitle, the items (figures inline, tables), the notes (``no_notes`` if none) and the
    ``tail`` (HTML parts: settings, provenance, versions)."""
    parts = [f"<h1>{_e(title)}</h1>",
             f'<p><span class="label {badge[0]}">{_e(badge[1])}</span> {subtitle_html}</p>']
    for item in items:
        if item.figure is not None:
            data = base64.b64encode(item.figure.read_bytes()).decode()
            parts.append(f'<figure><img alt="{_e(item.figure.stem)}" '
                         f'src="data:image/png;base64,{data}">'
                         f"<figcaption>{_e(item.caption)} (also "
                         f'<a href="{_e(item.figure.name)}">PNG</a>, '
                         f'<a href="{_e(item.figure.with_suffix(".pdf").name)}">PDF</a>)'
                         "</figcaption></figure>")
        else:
            parts.append(f"<h2>{_e(item.caption)}</h2>")
            parts.append(markdown_to_html(item.markdown))
    parts.append("<h2>Notes: what could not be computed</h2>")
    parts.append("<ul class='notes'>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>"
                 if notes else f"<p>{_e(no_notes)}</p>")
    parts += tail
    body = "\n".join(parts)
    atomic_write_text(path, f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
                            f"<title>{_e(title)}</title><style>{STYLE}</style></head>"
                            f"<body>\n{body}\n</body></html>\n")


def _provenance(folder: Path) -> list[str]:
    parts = ["<h2>Experiment settings</h2>"]
    settings = folder / "experiment.yaml"
    try:   # shown as it is, whatever it holds
        parts.append(f"<pre>{_e(settings.read_bytes().decode(errors='replace'))}</pre>")
    except OSError:
        parts.append("<p>No readable <code>experiment.yaml</code> in the folder.</p>")
    try:
        meta = json.loads((folder / "metadata.json").read_text())
    except (OSError, ValueError):
        meta = {}
    parts.append("<h2>Data provenance</h2>")
    parts.append(f"<pre>{_e(json.dumps(meta.get('data', 'not recorded'), indent=2))}</pre>")
    parts.append("<h2>Software</h2>")
    runs = {"python": meta.get("python"), "platform": meta.get("platform"),
            "git commit": meta.get("git_commit"), "started": meta.get("started"),
            "finished": meta.get("finished"), **(meta.get("packages") or {})}
    parts.append("<p>Runs made with:</p>" + _dict_table(runs))
    parts.append("<p>Report drawn with:</p>" + _dict_table(versions()))
    return parts


def versions() -> dict[str, str | None]:
    """Python's and the drawing packages' versions, for a page's software section."""
    report: dict[str, str | None] = {"python": platform.python_version()}
    for name in ("nasbench-harness", "numpy", "scipy", "pandas", "matplotlib"):
        try:
            report[name] = version(name)
        except PackageNotFoundError:
            report[name] = None
    return report


def dict_table(values: dict[str, Any]) -> str:
    """A two-column HTML table of a mapping."""
    return _dict_table(values)


def _dict_table(values: dict[str, Any]) -> str:
    rows = "".join(f"<tr><td>{_e(k)}</td><td>{_e(str(v))}</td></tr>" for k, v in values.items())
    return f"<table>{rows}</table>"


def markdown_to_html(text: str) -> str:
    """The reporter's own Markdown (paragraphs and pipe tables, ``**bold**``) as HTML."""
    out: list[str] = []
    table: list[str] = []

    def flush() -> None:
        if table:
            head, *rows = [r for r in table if not re.fullmatch(r"\|[-:|]+\|", r)]
            cells = [[c.strip() for c in r.strip("|").split("|")] for r in [head, *rows]]
            out.append("<table><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in cells[0]) +
                       "</tr>" + "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r)
                                         + "</tr>" for r in cells[1:]) + "</table>")
            table.clear()

    for line in text.splitlines():
        if line.startswith("|"):
            table.append(line.strip())
            continue
        flush()
        if line.strip():
            out.append(f"<p>{_inline(line)}</p>")
    flush()
    return "\n".join(out)


def _inline(text: str) -> str:
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", _e(text))


def _e(text: str) -> str:
    return html.escape(text, quote=True)
