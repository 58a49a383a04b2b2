"""The reproduce pipeline: run the numbered notebooks with papermill, record each run, summarise.

``make reproduce`` calls :func:`reproduce`. Notebooks run in the order of their number
(``notebooks/NN_name.ipynb``) with the working directory set to the notebook folder (as in
JupyterLab), the run's parameters injected into their ``parameters`` cell, and the executed copy
written to ``reports/notebooks/``. A failing notebook stops the run with a
:class:`NotebookError` naming the notebook, the failing cell and its error.

With real data (``data_source='real'`` or ``gallery_source='real'``) :func:`plan` first checks
each notebook's data (:mod:`affect.notebook_needs`): a notebook whose folders are missing is
skipped, listed on the console and in ``reports/README.md`` with the folder and the section of
``data/README.md`` to read; a notebook asked for by number (``only``) with its data missing is
an error instead.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from affect import reporting
from affect.data_paths import data_dir
from affect.files import atomic_write_text
from affect.notebook_needs import MissingData, missing_data, notebook_needs

NOTEBOOK_NAME = re.compile(r"^(\d\d)_[A-Za-z0-9_]+\.ipynb$")
KERNEL = "affect-kit"  # installed by `make install` (ipykernel install --sys-prefix)


class NotebookError(RuntimeError):
    """A notebook failed; the message names the notebook, the cell and the error."""


@dataclass(frozen=True)
class NotebookRun:
    """The record of one notebook run, as stored in ``reports/runs.json``."""

    notebook: str
    date: str
    commit: str
    profile: str
    data_source: str
    seed: int
    wall_s: float
    status: str
    title: str = ""
    error: str = ""
    outputs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PlannedNotebook:
    """A notebook of a run and the data folders it lacks (it runs when none)."""

    path: Path
    missing: tuple[MissingData, ...] = ()

    @property
    def runs(self) -> bool:
        return not self.missing

    def reason(self) -> str:
        """``data/affwild/, data/recola/ not found (see data/README.md, section "...")``, one clause per section."""
        return "; ".join(
            f"{', '.join(m.shown() for m in self.missing if m.section == section)} not found "
            f'(see data/README.md, section "{section}")'
            for section in dict.fromkeys(m.section for m in self.missing)
        )

    def skip_line(self) -> str:
        """``06_rafdb.ipynb: skipped, data/rafdb/ not found (see data/README.md, section "...")``."""
        return f"{self.path.name}: skipped, {self.reason()}"


def plan(notebooks: list[Path], profile: str, data_source: str, gallery_source: str) -> list[PlannedNotebook]:
    """Which of ``notebooks`` the data folder allows a run of these settings to run, and why not the others.

    A notebook without a declared need (:func:`affect.notebook_needs.notebook_needs`) runs.
    """
    from affect.run import profile_named

    sizes = profile_named(profile)
    needs = notebook_needs(sizes)
    return [
        PlannedNotebook(path, missing_data(needs[path.name[:2]], sizes, data_source, gallery_source))
        if path.name[:2] in needs
        else PlannedNotebook(path)
        for path in notebooks
    ]


def find_notebooks(notebooks_dir: str | Path, only: list[str] | None = None) -> list[Path]:
    """The numbered notebooks in order; ``only`` keeps those whose number is listed (e.g. ``['04']``)."""
    folder = Path(notebooks_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: notebook folder not found")
    found = sorted(p for p in folder.iterdir() if NOTEBOOK_NAME.match(p.name))
    if only:
        wanted = {n.zfill(2) for n in only}
        missing = wanted - {p.name[:2] for p in found}
        if missing:
            raise ValueError(f"{folder}: no notebook numbered {', '.join(sorted(missing))}")
        found = [p for p in found if p.name[:2] in wanted]
    return found


def notebook_title(path: Path) -> str:
    """The first heading of the notebook's first Markdown cell (what it reproduces)."""
    import nbformat

    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return ""


def kernel_name() -> str:
    """The project's kernel when installed, else the interpreter's default ``python3`` kernel."""
    from jupyter_client.kernelspec import KernelSpecManager

    return KERNEL if KERNEL in KernelSpecManager().find_kernel_specs() else "python3"


def git_commit(directory: Path) -> str:
    """Short commit id of the checkout (with ``+dirty`` when it has local changes outside
    ``reports/``, which a run itself rewrites), or ``unknown``."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=directory, check=True, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ":(top,exclude)reports"],
            cwd=directory,
            capture_output=True,
            text=True,
        ).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _outputs_since(reports_dir: Path, start: float) -> list[str]:
    return sorted(
        str(p.relative_to(reports_dir))
        for kind in ("tables", "figures")
        for p in (reports_dir / kind).glob("*")
        if p.is_file() and p.stat().st_mtime >= start
    )


def declared_parameters(path: Path) -> set[str]:
    """The names a notebook's ``parameters`` cell assigns; a run injects only those."""
    import nbformat

    for cell in nbformat.read(path, as_version=4).cells:
        if "parameters" in cell.metadata.get("tags", []):
            return {
                line.split("=")[0].strip()
                for line in cell.source.splitlines()
                if "=" in line and not line.lstrip().startswith("#")
            }
    return set()


def run_notebook(path: Path, reports_dir: Path, parameters: dict, kernel: str | None = None) -> NotebookRun:
    """Execute one notebook with papermill into ``reports_dir/notebooks`` and return its record.

    Raises :class:`NotebookError` when a cell fails; the record is still returned through
    the exception's ``run`` attribute so the summary can show the failure.
    """
    import papermill

    out = reports_dir / "notebooks" / path.name
    out.parent.mkdir(parents=True, exist_ok=True)
    started, wall = time.time(), time.perf_counter()
    error = ""
    declared = declared_parameters(path)
    given = {name: value for name, value in parameters.items() if name in declared}
    try:
        papermill.execute_notebook(
            str(path),
            str(out),
            parameters=given,
            cwd=str(path.parent),
            kernel_name=kernel or kernel_name(),
            progress_bar=False,
        )
    except papermill.PapermillExecutionError as failure:
        error = f"cell {failure.exec_count}: {failure.ename}: {failure.evalue}"
    if out.exists():
        relative_paths(out, reports_dir, data_dir(), path.parent.parent)
    run = NotebookRun(
        notebook=path.stem,
        date=dt.datetime.now().isoformat(timespec="seconds"),
        commit=git_commit(path.parent),
        profile=parameters["profile"],
        data_source=parameters["data_source"],
        seed=parameters["seed"],
        wall_s=time.perf_counter() - wall,
        status="failed" if error else "ok",
        title=notebook_title(path),
        error=error,
        outputs=_outputs_since(reports_dir, started - 1),
    )
    if error:
        exc = NotebookError(f"{path.name} failed in {error}")
        exc.run = run
        raise exc
    return run


def relative_paths(notebook: Path, *folders: Path) -> None:
    """Write ``folders`` (the reports folder, the data folder, the repository) as paths relative
    to the executed ``notebook``'s folder.

    The parameters cell and the outputs (the paths of saved figures, the files a log line or a
    library's warning names) name the folders as the run saw them, on the machine that ran it;
    relative, a copied ``reports/`` (or the one in the repository) points into itself, and the
    notebook run again from its folder writes into the same reports folder.
    """
    text = notebook.read_text(encoding="utf-8")
    here = notebook.parent.resolve()
    changed = text
    for absolute in sorted({str(Path(f).resolve()) for f in folders}, key=len, reverse=True):  # innermost first
        changed = changed.replace(absolute, os.path.relpath(absolute, here))
    if changed != text:
        atomic_write_text(notebook, changed)


def record_run(reports_dir: Path, run: NotebookRun) -> None:
    """Add or replace a notebook's record in ``runs.json`` and regenerate the summary."""
    runs_path = reports_dir / "runs.json"
    runs = json.loads(runs_path.read_text()) if runs_path.exists() else {}
    runs[run.notebook] = asdict(run)
    reporting.atomic_write_text(runs_path, json.dumps(runs, indent=2, sort_keys=True))
    reporting.write_readme(reports_dir)


def record_skipped(
    reports_dir: Path, planned: list[PlannedNotebook], profile: str, data_source: str, gallery_source: str
) -> None:
    """Update ``skipped.json``: add the notebooks this run skips, drop those it runs."""
    path = reports_dir / reporting.SKIPPED_FILE
    skipped = json.loads(path.read_text()) if path.exists() else {}
    for notebook in planned:
        skipped.pop(notebook.path.stem, None)
        if not notebook.runs:
            skipped[notebook.path.stem] = {
                "reason": notebook.skip_line(),
                "date": dt.datetime.now().isoformat(timespec="seconds"),
                "profile": profile,
                "data_source": data_source,
                "gallery_source": gallery_source,
            }
    if skipped or path.exists():
        reports_dir.mkdir(parents=True, exist_ok=True)
        reporting.atomic_write_text(path, json.dumps(skipped, indent=2, sort_keys=True))


#: Marks a reports folder holding the repository's reference run (its commit inside).
REFERENCE_MARK = ".reference"
#: What a run writes into a reports folder: ``make clean-reports`` removes the same.
RUN_OUTPUTS = ("tables", "figures", "notebooks", "results", "README.md", "runs.json", reporting.SKIPPED_FILE)


def replace_reference_run(reports_dir: Path) -> bool:
    """Clear the repository's reference run from ``reports_dir`` before a run writes there.

    The reference run (one default ``make reproduce`` on the stand-ins, committed so that its
    results can be read before running anything) keeps each row's ``predictions.csv``. A run
    reuses saved predictions, so a new run in the same folder would not train but redraw the
    reference's numbers, whatever its profile or data. Returns whether there was one to clear;
    ``git checkout reports`` brings it back.
    """
    mark = reports_dir / REFERENCE_MARK
    if not mark.exists():
        return False
    commit = mark.read_text(encoding="utf-8").strip()
    for name in RUN_OUTPUTS:
        target = reports_dir / name
        shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    mark.unlink()
    print(f"{reports_dir}: replacing the reference run of commit {commit} (git checkout reports restores it)")
    return True


def reproduce(
    profile: str = "default",
    data_source: str = "proxy",
    seed: int = 0,
    device: str = "cpu",
    only: list[str] | None = None,
    reuse_results: bool = False,
    gallery_source: str = "proxy",
    weights: str | None = None,
    notebooks_dir: str | Path = "notebooks",
    reports_dir: str | Path = "reports",
) -> list[NotebookRun]:
    """Run the numbered notebooks in order and rebuild ``reports/README.md``.

    Parameters are injected into each notebook's ``parameters`` cell: ``profile``,
    ``data_source``, ``gallery_source`` (whose gallery and affect model synthesize), ``seed``,
    ``device``, ``out_dir`` (the absolute report folder), ``reuse_results`` (redraw from saved
    results, used by ``make figures``) and, in the notebooks of Tables 2 to 14, ``weights`` (a
    user-held pretrained weight file; None trains from scratch). A notebook receives only the
    names its parameters cell declares; each makes its :class:`affect.run.Run` from them.

    A reports folder holding the repository's reference run is cleared first, unless
    ``reuse_results`` (:func:`replace_reference_run`). Notebooks whose real data is missing are
    skipped and listed (:func:`plan`); with ``only``,
    a missing folder raises FileNotFoundError naming it. A failing notebook raises
    :class:`NotebookError`.
    """
    from affect.run import start

    settings = start(profile, data_source, gallery_source, seed, device, weights, reports_dir)  # validated
    reports = Path(reports_dir).resolve()
    planned = plan(find_notebooks(notebooks_dir, only), profile, data_source, gallery_source)
    skipped = [p for p in planned if not p.runs]
    if only and skipped:
        raise FileNotFoundError("; ".join(f"{p.path.name}: {p.reason()}" for p in skipped))
    if not reuse_results:
        replace_reference_run(reports)
    record_skipped(reports, planned, profile, data_source, gallery_source)
    for p in skipped:
        print(p.skip_line(), flush=True)
    notebooks = [p.path for p in planned if p.runs]
    parameters = dict(
        profile=profile,
        data_source=data_source,
        seed=seed,
        device=device,
        out_dir=str(reports),
        reuse_results=reuse_results,
        gallery_source=gallery_source,
        weights=str(settings.weights) or None,  # files as absolute paths: the notebooks run elsewhere
    )
    kernel = kernel_name()
    runs = []
    for index, path in enumerate(notebooks, 1):
        print(f"[{index}/{len(notebooks)}] {path.name} (profile {profile}, {data_source} data) ...", flush=True)
        try:
            run = run_notebook(path, reports, parameters, kernel)
        except NotebookError as failure:
            record_run(reports, failure.run)
            raise
        record_run(reports, run)
        runs.append(run)
        print(f"      done in {run.wall_s:.1f} s", flush=True)
    if not notebooks:
        reporting.write_readme(reports)
    if skipped:
        print(f"skipped {len(skipped)} of {len(planned)} notebooks: their data is missing (listed above)")
    print(f"reports: {reports / 'README.md'}")
    return runs
