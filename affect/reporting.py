"""Reports: this run's tables beside the paper's, labelled figures, saved results, reports/README.md.

Every table and figure title states the data source and the profile of the run that made it,
so numbers computed on stand-in (proxy) data are never mistaken for real-data numbers. The
paper's own numbers come from :mod:`affect.paper` and sit beside this run's, never in place of them.

Layout under the report folder::

    tables/table_NN.md, .csv     this run beside the paper
    figures/<name>.png           figures, titled with source and profile
    results/<key>.csv|json|npz   raw results, so figures can be redrawn without recomputing
    notebooks/NN_name.ipynb      executed notebooks (written by affect.pipeline)
    runs.json                    one record per notebook run (affect.pipeline)
    skipped.json                 the notebooks the latest run skipped for missing data (affect.pipeline)
    README.md                    the summary, regenerated after every run
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from affect.files import atomic_path, atomic_write_text
from affect.vocabulary import SOURCES, check_choice

THIS_RUN = "this run"
#: The pipeline's record of the notebooks skipped for missing data, beside ``runs.json``.
SKIPPED_FILE = "skipped.json"
PAPER = "paper"


def source_label(data_source: str) -> str:
    """Human-readable name of a data source, as it appears in every title."""
    check_choice("data_source", data_source, SOURCES)
    if data_source == "proxy":
        return "PROXY data (stand-in databases made by the kit, not the paper's databases)"
    return "real data"


class ReportedRun(Protocol):
    """What the writers need of a run (:class:`affect.run.Run`): its report folder and title suffix."""

    data_source: str
    out_dir: Path
    reuse_results: bool

    @property
    def label(self) -> str: ...

    def title(self, text: str) -> str: ...

    def path(self, kind: str, name: str) -> Path: ...


# --- tables ----------------------------------------------------------------------------------

#: Said under every table made from stand-in data.
PROXY_NOTICE = "This run used stand-in data: its numbers test the pipeline, they do not reproduce the paper's values."


def flat_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose MultiIndex columns are joined into single names (``('CCC', 'valence')`` -> ``CCC valence``)."""
    frame = frame.copy()
    if isinstance(frame.columns, pd.MultiIndex):
        frame.columns = [" ".join(str(p) for p in col if str(p)) for col in frame.columns]
    return frame


def beside_paper(ours: pd.DataFrame, paper: pd.DataFrame, ours_label: str = THIS_RUN) -> pd.DataFrame:
    """Put this run's table and the paper's side by side, row-aligned on the paper's row labels.

    Columns get a top level naming the source (``ours_label``, ``"paper"``); rows missing on one
    side are kept and show as empty.
    """
    ours_flat, paper_flat = flat_columns(ours), flat_columns(paper)
    rows = list(paper_flat.index) + [r for r in ours_flat.index if r not in set(paper_flat.index)]
    combined = pd.concat({ours_label: ours_flat, PAPER: paper_flat}, axis=1)
    return combined.reindex(rows)


def markdown_table(frame: pd.DataFrame, floatfmt: str = ".3f") -> str:
    flat = frame.copy()
    if isinstance(flat.columns, pd.MultiIndex):
        flat.columns = [" / ".join(str(p) for p in col if str(p)) for col in flat.columns]
    for column in flat.columns:  # counts print as integers, scores with floatfmt, gaps as blanks
        values = flat[column]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            whole = values.notna().any() and bool((values.dropna() % 1 == 0).all())
            flat[column] = [("" if pd.isna(v) else f"{int(v)}" if whole else format(v, floatfmt)) for v in values]
    return flat.to_markdown(disable_numparse=True, colalign=["left"] + ["right"] * len(flat.columns))


def write_table(
    number: int, ours: pd.DataFrame, run: ReportedRun, *, title: str, notes: str = "", paper_columns: list | None = None
) -> Path:
    """Write Table ``number`` of this run beside the paper's as Markdown and CSV.

    ``paper_columns`` selects the paper's columns to show (default: all). Returns the Markdown
    path (``tables/table_NN.md``); the CSV sits beside it.
    """
    from affect import paper

    theirs = paper.table(number)
    if paper_columns is not None:
        theirs = theirs[paper_columns]
    combined = beside_paper(ours, theirs, ours_label=f"{THIS_RUN} ({run.data_source})")
    stem = f"table_{number:02d}"
    atomic_write_text(run.path("tables", f"{stem}.csv"), combined.to_csv())
    text = [f"### Table {number}: {run.title(title)}", ""]
    text += [markdown_table(combined), ""]
    text += [f"Left: this run ({run.label}). Right: the numbers printed in the paper, for reference."]
    if run.data_source == "proxy":
        text += [PROXY_NOTICE]
    if notes:
        text += ["", notes]
    md = run.path("tables", f"{stem}.md")
    atomic_write_text(md, "\n".join(text) + "\n")
    return md


# --- figures ---------------------------------------------------------------------------------


def save_figure(fig: Any, name: str, run: ReportedRun, title: str) -> Path:
    """Title a matplotlib figure with the data source and profile, and save it as PNG."""
    fig.suptitle(run.title(title), fontsize="medium", y=1.0, va="bottom")  # above the panels' titles
    return atomic_path(
        run.path("figures", f"{name}.png"), lambda temporary: fig.savefig(temporary, dpi=110, bbox_inches="tight")
    )


# --- saved results ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ImageGrid:
    """The pictures of a figure: rows of equally sized crops with titles, drawn by :meth:`figure`.

    A figure of synthesized faces is redrawn from this (saved as ``.npz``) without
    synthesizing again. ``points`` are optional landmarks per panel, in crop pixels.

    Attributes
    ----------
    images : (R, C, S, S, 3) uint8
    titles : (R, C) str; an empty title with an all-zero image leaves the panel blank
    points : (R, C, P, 2) float or None
    """

    images: np.ndarray
    titles: np.ndarray
    points: np.ndarray | None = None

    def figure(self, panel_inches: float = 2.2) -> Any:
        """A matplotlib figure with one axis per panel."""
        import matplotlib.pyplot as plt

        rows, columns = self.titles.shape
        fig, axes = plt.subplots(
            rows, columns, figsize=(panel_inches * columns, (panel_inches + 0.2) * rows), squeeze=False
        )
        for r in range(rows):
            for c in range(columns):
                ax = axes[r, c]
                ax.axis("off")
                if not self.titles[r, c] and not self.images[r, c].any():
                    continue
                ax.imshow(self.images[r, c])
                ax.set_title(str(self.titles[r, c]), fontsize="small")
                if self.points is not None and np.isfinite(self.points[r, c]).all():
                    ax.scatter(self.points[r, c, :, 0], self.points[r, c, :, 1], s=3, c="lime")
        fig.tight_layout()
        return fig

    def save(self, path: str | os.PathLike) -> Path:
        arrays = {"images": self.images, "titles": self.titles.astype(str)}
        if self.points is not None:
            arrays["points"] = self.points
        return atomic_path(path, lambda temporary: np.savez_compressed(temporary, **arrays))

    @classmethod
    def load(cls, path: str | os.PathLike) -> ImageGrid:
        with np.load(path, allow_pickle=False) as data:
            return cls(data["images"], data["titles"], data["points"] if "points" in data.files else None)


def save_result(run: ReportedRun, key: str, value: Any) -> Path:
    """Save a result under ``results/`` so that it loads back equal (index and dtypes intact).

    A DataFrame is written as CSV with a JSON sidecar of its index and column levels and dtypes,
    a dict as JSON, an :class:`ImageGrid` as ``.npz``, and a tuple as one file per item
    (``key.0``, ``key.1``, ...).
    """
    if isinstance(value, tuple):
        for i, item in enumerate(value):
            save_result(run, f"{key}.{i}", item)
        return atomic_write_text(run.path("results", f"{key}.tuple.json"), json.dumps({"items": len(value)}))
    if isinstance(value, pd.DataFrame):
        layout = {
            "index": value.index.nlevels,
            "columns": value.columns.nlevels,
            "dtypes": [str(t) for t in value.dtypes],
        }
        atomic_write_text(run.path("results", f"{key}.csv.json"), json.dumps(layout))
        return atomic_write_text(run.path("results", f"{key}.csv"), value.to_csv())
    if isinstance(value, dict):
        return atomic_write_text(run.path("results", f"{key}.json"), json.dumps(value, indent=2, default=_json_default))
    if isinstance(value, ImageGrid):
        return value.save(run.path("results", f"{key}.npz"))
    raise ValueError(
        f"result {key!r}: expected a DataFrame, a dict, an ImageGrid or a tuple of them, got {type(value).__name__}"
    )


def load_result(run: ReportedRun, key: str) -> Any:
    """Load a result saved by :func:`save_result`; FileNotFoundError names the missing key."""
    results = run.out_dir / "results"
    if (results / f"{key}.tuple.json").exists():
        items = json.loads((results / f"{key}.tuple.json").read_text())["items"]
        return tuple(load_result(run, f"{key}.{i}") for i in range(items))
    if (results / f"{key}.csv").exists():
        return _read_frame(results / f"{key}.csv")
    if (results / f"{key}.json").exists():
        return json.loads((results / f"{key}.json").read_text())
    if (results / f"{key}.npz").exists():
        return ImageGrid.load(results / f"{key}.npz")
    raise FileNotFoundError(f"{results}: no saved result {key!r}; run without reuse_results first")


def _read_frame(path: Path) -> pd.DataFrame:
    sidecar = path.with_name(path.name + ".json")
    if not sidecar.exists():
        return pd.read_csv(path, index_col=0)
    layout = json.loads(sidecar.read_text())
    header = list(range(layout["columns"])) if layout["columns"] > 1 else 0
    frame = pd.read_csv(path, index_col=list(range(layout["index"])), header=header)
    for column, dtype in zip(frame.columns, layout["dtypes"]):
        if dtype in ("bool", "int64", "float64", "object") and str(frame[column].dtype) != dtype:
            frame[column] = frame[column].astype(dtype)
    return frame


def cached(run: ReportedRun, key: str, compute: Callable[[], Any]) -> Any:
    """The one way a notebook's expensive step runs: computed and saved, or, when the run
    reuses results (``make figures``), loaded from what an earlier run saved."""
    if run.reuse_results:
        return load_result(run, key)
    value = compute()
    save_result(run, key, value)
    return value


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in a JSON result")


# --- the summary -----------------------------------------------------------------------------


def write_readme(reports_dir: str | os.PathLike) -> Path:
    """Regenerate ``reports/README.md`` from ``runs.json``, ``skipped.json`` and the files each notebook wrote."""
    reports = Path(reports_dir)
    runs = json.loads((reports / "runs.json").read_text()) if (reports / "runs.json").exists() else {}
    lines = [
        "# Reports",
        "",
        "Generated by `make reproduce`; do not edit by hand. Every number below was computed "
        "by the run named in its section. Sections made from stand-in data say **PROXY data**: "
        "those numbers exercise the pipeline and are not comparable with the paper's.",
        "",
    ]
    skipped = json.loads((reports / SKIPPED_FILE).read_text()) if (reports / SKIPPED_FILE).exists() else {}
    if skipped:
        lines += [
            "## Skipped notebooks",
            "",
            "These notebooks did not run: their licensed data is not under the data folder. "
            "Place it as `data/README.md` describes and rerun them.",
            "",
        ]
        lines += [f"- {skipped[name]['reason']}" for name in sorted(skipped)]
        lines.append("")
    if not runs:
        lines.append("No notebook has run yet.")
    # A file belongs to the latest run that wrote it (``make table-NN`` reruns one notebook).
    owner = {
        output: name for name in sorted(runs, key=lambda n: runs[n]["date"]) for output in runs[name].get("outputs", [])
    }
    for name in sorted(runs):
        run = runs[name]
        lines += [f"## {name}", ""]
        if run.get("title"):
            lines += [run["title"], ""]
        lines += [
            "| date | commit | profile | data source | seed | wall time | status |",
            "|---|---|---|---|---|---|---|",
            f"| {run['date']} | {run['commit']} | {run['profile']} | {source_label(run['data_source'])} "
            f"| {run['seed']} | {run['wall_s']:.1f} s | {run['status']} |",
            "",
        ]
        if run.get("error"):
            lines += [f"Error: `{run['error']}`", ""]
        lines += [f"Executed notebook: [notebooks/{name}.ipynb](notebooks/{name}.ipynb)", ""]
        for output in dict.fromkeys(run.get("outputs", [])):
            if owner.get(output) != name:
                continue
            path = reports / output
            if output.startswith("tables/") and output.endswith(".md") and path.exists():
                lines += [path.read_text().rstrip().replace("### ", "#### ", 1), ""]
            elif output.startswith("figures/") and path.exists():
                lines += [f"![{path.stem}]({output})", ""]
    readme = reports / "README.md"
    atomic_write_text(readme, "\n".join(lines) + "\n")
    return readme
