"""Tables 10 and 11: the synthesized faces of each method as a test set and as a training set (Sec. 6.3).

The paper judges its synthesized data against StarGAN's and GANimation's in two settings, for
Aff-Wild (AffWildNet, the VGG-FACE-GRU baseline of Table 2), RECOLA (the ResNet-GRU baseline of
Table 3) and AffectNet (the VGG-FACE baseline of Table 4):

- Table 10, synthesized faces as a test set: each baseline, trained on its database's real (or
  stand-in) training set, predicts valence and arousal for every face each method synthesized
  from that database's neutral faces; the ground truth of a face is the VA target it was
  synthesized for. The baselines are the saved runs of Tables 2 to 4
  (``results/runs/table_0N/<row>``), trained here only where a run has none.
- Table 11, synthesized faces as a training set: the same three networks, under the same
  profile, budget and seed, trained on one method's synthesized set alone and scored on the real
  (or stand-in) test set. The training split holds every synthesized face of the method's set and
  no real image (as in Tables 2 to 4, this includes faces made from photos of the subjects held
  out for validation: a small set such as Aff-Wild's may come from those alone); the real
  validation split (:func:`affect.learning.runs.database_splits`) still picks the best epoch, so
  every method's network is chosen by the same real faces.

The three methods' sets share their neutral faces and VA targets
(:meth:`affect.run.Run.augmented_set`). Every number is computed from a saved
prediction file, with a 95 % bootstrap interval over test subjects (Table 10: the subjects of the
source photos).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from affect import paper
from affect.experiments import affect_tables, tables
from affect.experiments.tables import Row, RunResult, TableSpec
from affect.run import Run

__all__ = [
    "SyntheticSource",
    "SOURCES",
    "METHODS",
    "OURS",
    "baseline_run",
    "synthesized_test_frame",
    "synthetic_test_run",
    "synthetic_train_run",
    "synthetic_runs",
    "score_runs",
    "interval_claims",
    "paired_claims",
    "claim_sentences",
    "write_synthetic_table",
    "synthetic_table",
    "ccc_figure",
]


@dataclass(frozen=True)
class SyntheticSource:
    """One database of Tables 10 and 11 and the network of Tables 2 to 4 it uses.

    Attributes
    ----------
    database : str
        The kit's name (:data:`affect.datasets.NAMES`).
    name : str
        The paper's name in Tables 10 and 11.
    table : int
        The table of Sec. 6.2 whose baseline row is reused (2, 3 or 4).
    row : str
        That row's label in :data:`affect.experiments.affect_tables.TABLES`.
    network : str
        The paper's column of the network in Tables 10 and 11.
    """

    database: str
    name: str
    table: int
    row: str
    network: str

    @property
    def spec(self) -> TableSpec:
        """The table of Sec. 6.2 cut to this baseline row (so :func:`run_table` trains only it)."""
        table = affect_tables.TABLES[self.table]
        return replace(table, rows=tuple(r for r in table.rows if r.label == self.row), gans=())

    @property
    def kit_network(self) -> str:
        return self.spec.rows[0].network


#: The databases of Tables 10 and 11 in the paper's order (Sec. 6.3).
SOURCES: tuple[SyntheticSource, ...] = (
    SyntheticSource("affwild", "Aff-Wild", 2, "AffWildNet [29,30]", "AffWildNet"),
    SyntheticSource("recola", "RECOLA", 3, "ResNet-GRU [30]", "ResNet-GRU"),
    SyntheticSource("affectnet", "AffectNet", 4, "the VGG-FACE baseline", "VGG-FACE baseline"),
)
#: The synthesis methods (:meth:`affect.run.Run.augmented_set`) and the paper's names.
METHODS = {"stargan": "StarGAN", "ganimation": "Ganimation", "proposed": "Ours"}
OURS = "proposed"
_CRITERIA = ("ccc", "mse")
_CELLS = ("CCC valence", "CCC arousal", "MSE valence", "MSE arousal")
_TITLES = {
    10: "The baselines of Tables 2 to 4 tested on the faces synthesized by StarGAN, GANimation and the "
    "proposed approach (Sec. 6.3)",
    11: "The networks of Tables 2 to 4 trained on the faces synthesized by StarGAN, GANimation or the "
    "proposed approach alone, tested on the real test sets (Sec. 6.3)",
}


def _check_number(number: int) -> None:
    if number not in (10, 11):
        raise ValueError(f"number: Tables 10 and 11 are the synthetic-data tables, got {number}")


def _run_folder(run: Run, number: int, source: SyntheticSource, method: str) -> Path:
    return run.out_dir / "results" / "runs" / f"table_{number}" / f"{source.database}_{method}"


# --- Table 10: the synthesized faces as a test set ----------------------------------------------


def baseline_run(
    source: SyntheticSource,
    run: Run,
    *,
    progress: bool = False,
) -> RunResult:
    """The baseline of Table 2, 3 or 4 as its notebook saved it; trained here only if it has no run."""
    results = affect_tables.run_table(source.spec, run, progress=progress, gans=False)
    return results[source.row]


def synthesized_test_frame(source: SyntheticSource, built: str | Path, run: Run) -> pd.DataFrame:
    """The synthesized faces of one build as test rows: the ground truth of a face is its VA target.

    Faces are cropped with their source photo's landmarks (:func:`affect.learning.prepared.synthesized_rows`).
    Each face is a test sample of its own: ``sequence`` is emptied, so a recurrent network sees
    it as a sequence of one frame and its prediction does not depend on the other targets
    synthesized from the same video.

    Returns
    -------
    DataFrame of :data:`affect.datasets.COLUMNS` plus ``source``; ``valence``, ``arousal`` in
    [-1, 1] are the targets of the build's manifest, ``subject`` the source photo's subject.
    """
    from affect import datasets
    from affect.learning.prepared import synthesized_rows

    root = run.database_root(source.database)
    split = "train" if "train" in datasets.SPLITS[source.database] else "all"  # where the sets were made from
    frame = synthesized_rows(datasets.load(source.database, root, split), built)
    return frame.assign(sequence="")


def synthetic_test_run(
    source: SyntheticSource,
    method: str,
    baseline: RunResult,
    run: Run,
    *,
    progress: bool = False,
) -> RunResult:
    """Table 10's cell: ``baseline`` predicting the faces ``method`` synthesized from its database.

    The predictions (one row per synthesized face, with its ``source`` photo) are saved in
    ``results/runs/table_10/<database>_<method>/predictions.csv`` and reused when present;
    with ``run.reuse_results`` a missing file is an error. Recurrent networks see each
    synthesized face as a sequence of one frame (:func:`synthesized_test_frame`).
    """
    from affect.files import atomic_write_text, relative_path
    from affect.learning import evaluation, training
    from affect.learning.prepared import prepare
    from affect.learning.runs import prepared_root

    out = _run_folder(run, 10, source, method) / evaluation.PREDICTIONS
    if not out.exists():
        if run.reuse_results:
            raise tables.not_saved(out)
        built = run.augmented_set(source.database, "va", method, progress=progress)
        frame = synthesized_test_frame(source, built.folder, run)
        module = training.load_module(baseline.files[0].parent / training.CHECKPOINTS / "best.ckpt")
        size = training.input_size(source.kit_network, run.profile.training)
        faces = prepare(
            frame,
            prepared_root(),
            size,
            label=f"{run.data_source}-{source.database}-{method}-as-test",
            progress=progress,
        )
        predictions = evaluation.predict(module, faces, device=run.device)
        paths = dict(zip(faces.index["id"].astype(str), faces.index["path"].astype(str)))
        sources = dict(zip(frame["path"].astype(str), frame["source"].astype(str)))
        predictions["source"] = [relative_path(sources[paths[str(i)]], out.parent) for i in predictions["id"]]
        atomic_write_text(out, predictions.to_csv(index=False))
    row = Row(METHODS[method], source.kit_network, method)
    return RunResult(row, tables.read_predictions(out), (out,), baseline.pretrained)


# --- Table 11: the synthesized faces as a training set ------------------------------------------


def synthetic_train_run(
    source: SyntheticSource,
    method: str,
    run: Run,
    *,
    progress: bool = False,
) -> RunResult:
    """Table 11's cell: the source's network trained on ``method``'s synthesized set alone.

    Same network, profile sizes, budget and seed as the baseline of Table 2, 3 or 4
    (:func:`affect.learning.runs.train` with ``synthesized_only``); the real validation split picks
    the best epoch and the real test split is scored. Saved in
    ``results/runs/table_11/<database>_<method>/`` and reused when its predictions exist.
    """
    from affect.learning import evaluation, runs

    run_dir = _run_folder(run, 11, source, method)
    predictions = run_dir / evaluation.PREDICTIONS
    if not run.reuse_results:
        tables.move_aside_if_stale(run_dir, run, source.kit_network)
    if not predictions.exists():
        if run.reuse_results:
            raise tables.not_saved(predictions)
        built = run.augmented_set(source.database, "va", method, progress=progress)
        runs.train(
            source.kit_network,
            source.database,
            run_dir,
            profile=run.profile,
            data_source=run.data_source,
            task="va",
            seed=run.seed,
            device=run.device,
            weights=run.weights.source(source.kit_network),
            augmented=built.folder,
            synthesized_only=True,
            progress=progress,
        )
        runs.evaluate_run(run_dir, device=run.device, n_bootstrap=100)  # the table bootstraps again
    row = Row(METHODS[method], source.kit_network, method)
    return RunResult(row, tables.read_predictions(predictions), (predictions,), runs.read_run(run_dir).pretrained)


def synthetic_runs(
    number: int,
    run: Run,
    *,
    progress: bool = False,
) -> dict[tuple[str, str], RunResult]:
    """Every cell of Table 10 or 11, run or read back.

    Returns
    -------
    dict of (database, method) -> RunResult, in the paper's order (:data:`SOURCES`, :data:`METHODS`).
    """
    _check_number(number)
    results = {}
    for source in SOURCES:
        if not run.reuse_results:
            run.database(source.database)
        baseline = baseline_run(source, run, progress=progress) if number == 10 else None
        for method in METHODS:
            results[source.database, method] = (
                synthetic_test_run(source, method, baseline, run, progress=progress)
                if number == 10
                else synthetic_train_run(source, method, run, progress=progress)
            )
    return results


# --- scores and claims --------------------------------------------------------------------------


def _source(database: str) -> SyntheticSource:
    return next(s for s in SOURCES if s.database == database)


def _training_faces(result: RunResult) -> int:
    from affect.learning.prepared import load_prepared
    from affect.learning.runs import read_run

    return len(load_prepared(read_run(result.files[0].parent).prepared["train"]))


def score_runs(
    number: int,
    results: dict[tuple[str, str], RunResult],
    *,
    n_bootstrap: int = 1000,
    seed: int = 0,
    reports_dir: Path | None = None,
) -> pd.DataFrame:
    """CCC and MSE of valence and arousal of every cell, with 95 % bootstrap intervals (Eq. 6, 10).

    Returns
    -------
    DataFrame indexed (database, method) by the paper's names, with ``network``, each cell
    (``CCC valence``, ...) and its ``low`` / ``high`` bounds, ``bootstrap unit``, ``n units``,
    ``test faces``, for Table 11 ``training faces`` (synthesized), and ``predictions`` (the file,
    relative to ``reports_dir``).
    """
    _check_number(number)
    records = {}
    for (database, method), result in results.items():
        source = _source(database)
        spec = replace(source.spec, criteria=_CRITERIA)
        scored = tables.score_intervals(spec, result.predictions, [], n_bootstrap=n_bootstrap, seed=seed)
        record: dict[str, object] = {"network": source.network, **tables.interval_columns(scored)}
        record["bootstrap unit"], record["n units"] = scored["unit"].iloc[0], int(scored["n_units"].iloc[0])
        record["test faces"] = len(result.predictions)
        if number == 11:
            record["training faces"] = _training_faces(result)
        record["predictions"] = tables.prediction_files(result, reports_dir)
        records[source.name, METHODS[method]] = record
    frame = pd.DataFrame.from_dict(records, orient="index")
    frame.index = pd.MultiIndex.from_tuples(frame.index, names=["database", "method"])
    return frame


def _better(cell: str, ours: float, theirs: float) -> bool:
    return ours < theirs if cell.startswith("MSE") else ours > theirs


def interval_claims(frame: pd.DataFrame) -> pd.DataFrame:
    """Table 10's comparison of the proposed faces with each GAN's, cell by cell, from the intervals.

    The three test sets hold different images (each method's faces), so the two scores of a
    cell are not paired: 'better' compares the point estimates (CCC higher, MSE lower), and
    'clear' asks that the two 95 % bootstrap intervals do not overlap (for CCC the proposed
    set's lower bound above the GAN's upper bound; for MSE its upper bound below the GAN's
    lower bound). Non-overlap is stricter than a test of the difference, so 'clear' errs
    towards not claiming.

    Parameters
    ----------
    frame : DataFrame
        :func:`score_runs` of Table 10.

    Returns
    -------
    DataFrame indexed (database, versus, cell) with ``ours``, ``theirs``, their bounds, ``holds``
    (better) and ``clear``.
    """
    records = {}
    ours_name = METHODS[OURS]
    for database in dict.fromkeys(frame.index.get_level_values("database")):
        if (database, ours_name) not in frame.index:
            continue
        ours = frame.loc[(database, ours_name)]
        for method in (m for m in METHODS if m != OURS):
            if (database, METHODS[method]) not in frame.index:
                continue
            theirs = frame.loc[(database, METHODS[method])]
            for cell in (c for c in _CELLS if c in frame.columns and pd.notna(ours[c])):
                mse = cell.startswith("MSE")
                clear = (
                    ours[f"{cell} high"] < theirs[f"{cell} low"]
                    if mse
                    else ours[f"{cell} low"] > theirs[f"{cell} high"]
                )
                records[database, METHODS[method], cell] = {
                    "ours": ours[cell],
                    "ours low": ours[f"{cell} low"],
                    "ours high": ours[f"{cell} high"],
                    "theirs": theirs[cell],
                    "theirs low": theirs[f"{cell} low"],
                    "theirs high": theirs[f"{cell} high"],
                    "holds": bool(_better(cell, ours[cell], theirs[cell])),
                    "clear": bool(clear),
                }
    claims = pd.DataFrame.from_dict(records, orient="index")
    claims.index = pd.MultiIndex.from_tuples(claims.index, names=["database", "versus", "cell"])
    return claims


def paired_claims(results: dict[tuple[str, str], RunResult], *, n_bootstrap: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Table 11's comparison: the network trained on the proposed faces against each GAN's.

    All of a database's networks are scored on the same real test set, so the difference of
    every cell has a paired bootstrap interval (:func:`affect.experiments.tables.paired_claim`).

    Returns
    -------
    DataFrame indexed (database, versus, cell) with ``improvement``, ``low``, ``high``,
    ``holds`` (improvement > 0) and ``clear`` (the interval above 0).
    """
    parts = {}
    for source in SOURCES:
        ours = results.get((source.database, OURS))
        for method in (m for m in METHODS if m != OURS):
            theirs = results.get((source.database, method))
            if ours is None or theirs is None:
                continue
            claim = tables.paired_claim(
                replace(source.spec, criteria=_CRITERIA), ours, theirs, n_bootstrap=n_bootstrap, seed=seed
            )
            parts[source.name, METHODS[method]] = claim
    claims = pd.concat(parts, names=["database", "versus", "cell"])
    return claims


def claim_sentences(number: int, claims: pd.DataFrame) -> list[str]:
    """The paper's claim of Table 10 or 11 stated per database as holding or not on this run.

    The wording is that of Tables 2 to 9 (:func:`affect.experiments.tables.verdict`): it
    holds when the proposed approach is better in every cell against both GANs and every
    comparison is clear; better point estimates alone 'hold on the point estimates only'.
    """
    _check_number(number)
    if number == 10:
        claim = (
            "Paper's claim (Table 10, Sec. 6.3): each network does better on the faces synthesized by the "
            "proposed approach than on StarGAN's or GANimation's (CCC higher, MSE lower). The test sets differ, "
            "so a cell is clear when the two 95 % bootstrap intervals do not overlap."
        )
    else:
        claim = (
            "Paper's claim (Table 11, Sec. 6.3): each network trained on the faces synthesized by the proposed "
            "approach does better on the real test set than trained on StarGAN's or GANimation's (CCC higher, "
            "MSE lower). A cell is clear when the 95 % paired bootstrap interval of the improvement lies "
            "above 0."
        )
    sentences = [claim]
    for database in dict.fromkeys(claims.index.get_level_values("database")):
        block = claims.loc[database]
        verdict = tables.verdict(bool(block["holds"].all()), bool(block["clear"].all()))
        parts = [
            f"vs {versus}: better in {int(rows['holds'].sum())} of {len(rows)} cells, {int(rows['clear'].sum())} clear"
            for versus, rows in block.groupby(level="versus", sort=False)
        ]
        sentences.append(f"{database}: on this run it {verdict} ({'; '.join(parts)}).")
    return sentences


# --- the table ------------------------------------------------------------------------------------


def _paper_cells(number: int, frame: pd.DataFrame) -> pd.DataFrame:
    """The paper's value of every cell of ``frame``'s rows (NaN where it prints none)."""
    theirs = paper.table(number)
    values = {}
    for database, method in frame.index:
        network = frame.loc[(database, method), "network"]
        for cell in _CELLS:
            metric, dimension = cell.split()
            key = (database, method, metric)
            values.setdefault(cell, []).append(theirs.loc[key, (network, dimension)] if key in theirs.index else np.nan)
    return pd.DataFrame(values, index=frame.index)


def write_synthetic_table(number: int, frame: pd.DataFrame, run: Run, notes: dict, claims: pd.DataFrame) -> Path:
    """Write ``tables/table_NN.md`` and ``.csv``: this run's cells with intervals beside the paper's.

    The Markdown prints valence - arousal per criterion as the paper does; the CSV holds every
    number with its bounds, the paper's values (``paper <cell>``) and the prediction files.
    """
    theirs = _paper_cells(number, frame)
    csv = frame.copy()
    for cell in _CELLS:
        csv[f"paper {cell}"] = theirs[cell]
    shown = pd.DataFrame({"network": frame["network"]}, index=frame.index)
    for metric in ("CCC", "MSE"):
        valence = tables.interval_cells(frame, f"{metric} valence")
        arousal = tables.interval_cells(frame, f"{metric} arousal")
        shown[f"{metric} (V - A): this run"] = [f"{v} - {a}" if v else "" for v, a in zip(valence, arousal)]
        shown[f"{metric} (V - A): paper"] = [
            "" if pd.isna(v) else f"{v:.2f} - {a:.2f}"
            for v, a in zip(theirs[f"{metric} valence"], theirs[f"{metric} arousal"])
        ]
    counts = ["test faces"] + (["training faces"] if number == 11 else [])
    for column in counts:
        shown[column] = [f"{int(v):,}" for v in frame[column]]
    shown.index = [f"{database} {method}" for database, method in frame.index]
    shown.index.name = "database, method"
    unit = "source subjects" if number == 10 else "test subjects"
    return tables.write_table(
        run,
        number,
        title=_TITLES[number],
        setting=notes["setting"],
        shown=shown,
        csv=csv,
        caption=f"This run ({run.label}): value [95 % bootstrap interval over {unit}, or the unit of the CSV's "
        "'bootstrap unit' where there are too few]; the paper's printed numbers (valence - arousal) beside "
        "them ('' where it prints none: RECOLA's MSE).",
        notes=[*notes["lines"], "", *claim_sentences(number, claims)],
    )


def _notes(number: int, run: Run, results: dict[tuple[str, str], RunResult]) -> dict:
    """The setting of the title and the lines under Table 10 or 11."""
    setting = tables.run_setting(run, {f"{k}": r for k, r in results.items()})
    if number == 10:
        reused = ", ".join(f"{s.name}: results/runs/table_{s.table:02d}/{s.spec.rows[0].slug}" for s in SOURCES)
        lines = [
            f"The networks are the baselines of Tables 2 to 4, trained on the real (stand-in) training sets "
            f"({reused}). Each synthesized face is scored against the VA target it was synthesized for; "
            "recurrent networks see it as a sequence of one frame. The three methods synthesized from the "
            "same neutral faces and targets."
        ]
    else:
        most = run.profile.synthetic_train_max
        share = (
            "every face of the set"
            if most is None
            else f"every face of the set, or a seeded {most:,} of them where it holds more: the same sources and "
            "targets for every method (the profile's synthetic_train_max; column 'training faces')"
        )
        lines = [
            "Each network is trained, with the budget, seed and sizes of Tables 2 to 4, on one method's "
            f"synthesized set alone ({share}; no real image). The real validation split (the "
            "held-out training subjects; AffectNet's 15 % part) picks the best epoch, and the real test split "
            "(RECOLA: dev) is scored, the same for every method."
        ]
    return {"setting": setting, "lines": lines}


def synthetic_table(
    number: int,
    run: Run,
    *,
    n_bootstrap: int | None = None,
    progress: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Table 10 or 11 of this run: run (or reuse) every cell, score it, write it beside the paper's.

    ``n_bootstrap`` resamples (default: the profile's ``bootstrap_resamples``) give each interval.

    With ``run.reuse_results`` nothing is trained or predicted: the saved prediction files must
    exist (else FileNotFoundError naming the first missing one) and the scores are read back.

    Returns
    -------
    (the table as :func:`score_runs`, the claims as :func:`interval_claims` (Table 10) or
    :func:`paired_claims` (Table 11)).
    """
    from affect import reporting

    _check_number(number)
    n_bootstrap = n_bootstrap or run.profile.bootstrap_resamples
    results = synthetic_runs(number, run, progress=progress)
    key = f"table_{number}"
    frame = reporting.cached(
        run, key, lambda: score_runs(number, results, n_bootstrap=n_bootstrap, seed=run.seed, reports_dir=run.out_dir)
    )
    claims = reporting.cached(
        run,
        f"{key}_claims",
        lambda: (
            interval_claims(frame) if number == 10 else paired_claims(results, n_bootstrap=n_bootstrap, seed=run.seed)
        ),
    )
    notes = reporting.cached(run, f"{key}_notes", lambda: _notes(number, run, results))
    write_synthetic_table(number, frame, run, notes, claims)
    return frame, claims


# --- the figure -----------------------------------------------------------------------------------


def ccc_figure(number: int, frame: pd.DataFrame) -> object:
    """CCC of valence and arousal per database, one bar per method, with 95 % interval whiskers.

    The paper's value of each bar is marked beside it (a black diamond).
    """
    import matplotlib.pyplot as plt

    theirs = _paper_cells(number, frame)
    databases = list(dict.fromkeys(frame.index.get_level_values("database")))
    methods = [m for m in METHODS.values() if m in set(frame.index.get_level_values("method"))]
    fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.2), sharey=True)
    width = 0.8 / max(len(methods), 1)
    x = np.arange(len(databases))
    for ax, dimension in zip(axes, ("valence", "arousal")):
        column = f"CCC {dimension}"
        for k, method in enumerate(methods):
            rows = frame.xs(method, level="method").reindex(databases)
            values = rows[column].to_numpy(dtype=float)
            errors = np.abs(rows[[f"{column} low", f"{column} high"]].to_numpy(dtype=float).T - values)
            at = x + (k - (len(methods) - 1) / 2) * width
            ax.bar(at, values, width, yerr=np.nan_to_num(errors), capsize=2, label=method)
            printed = theirs.xs(method, level="method").reindex(databases)[column].to_numpy(dtype=float)
            ax.plot(at, printed, "kD", ms=3, label="paper" if k == 0 else None)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xticks(x, databases)
        ax.set_title(f"CCC {dimension}", fontsize="small")
    axes[0].set_ylabel("CCC (95 % bootstrap interval)")
    axes[1].legend(
        fontsize="x-small", title="synthesized by" if number == 10 else "trained on", title_fontsize="x-small"
    )
    fig.tight_layout()
    return fig
