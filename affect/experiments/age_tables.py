"""Tables 13 and 14: the networks of Tables 2 to 9 scored per estimated age group (Sec. 6.5).

The affect databases carry no ages, so the paper estimates one for every test face with its
age estimator (:mod:`affect.learning.age_estimator`) and scores, within each age group, the
network trained on the training set alone ('Network', 'VGG-FACE') and the same network trained
with the synthesized faces ('Network-Augmented', 'VGG-FACE-Augmented'), beside the number of
test and of synthesized samples in the group. Here the two networks are those of Tables 2 to 9:
their saved predictions are reused (:func:`affect.experiments.affect_tables.run_table` trains
them only where a run has none), and a synthesized face inherits the estimated age of the
neutral photo it was made from.

Age groups are the paper's groups for each database; estimates outside them get groups of their
own below and above (e.g. '0-19', '60+'), so every test sample counts once. A video's age (AFEW,
scored per video in Table 8) is the median of its frames' estimates, a kit choice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from affect import datasets, paper
from affect.experiments import affect_tables, tables
from affect.experiments.tables import BASELINE, PROPOSED, RunResult, TableSpec
from affect.files import relative_path
from affect.run import Run

__all__ = [
    "AgeSource",
    "AGE_TABLES",
    "MODELS",
    "age_groups",
    "group_labels",
    "estimator",
    "test_ages",
    "synthesized_ages",
    "age_rows",
    "age_table",
    "write_age_table",
]


@dataclass(frozen=True)
class AgeSource:
    """One database block of Table 13 or 14: the table whose runs it reuses and its criterion.

    Attributes
    ----------
    database : str
        The kit's name (:data:`affect.datasets.NAMES`).
    name : str
        The paper's name in Tables 13 and 14.
    table : int
        The table of Sec. 6.2 whose baseline and proposed networks are scored (2 to 9).
    criterion : str
        Table 13: 'va' (CCC and MSE of valence and arousal); Table 14: 'F1' or 'accuracy'.
    """

    database: str
    name: str
    table: int
    criterion: str


#: The blocks of Tables 13 and 14 (Sec. 6.5: VGG-FACE-GRU for Aff-Wild and AFEW-VA, ResNet-GRU
#: for RECOLA, VGG-FACE elsewhere; F1 for RAF-DB and AffectNet, total accuracy for AFEW and BU-3DFE).
AGE_TABLES: dict[int, tuple[AgeSource, ...]] = {
    13: (
        AgeSource("affwild", "Aff-Wild", 2, "va"),
        AgeSource("recola", "RECOLA", 3, "va"),
        AgeSource("affectnet", "AffectNet", 4, "va"),
        AgeSource("afew_va", "AFEW-VA", 5, "va"),
    ),
    14: (
        AgeSource("rafdb", "RAF-DB", 6, "F1"),
        AgeSource("affectnet", "AffectNet", 7, "F1"),
        AgeSource("afew", "AFEW", 8, "accuracy"),
        AgeSource("bu3dfe", "BU-3DFE", 9, "accuracy"),
    ),
}
#: The paper's column names of (augmented, baseline) in each table.
MODELS = {13: ("Network-Augmented", "Network"), 14: ("VGG-FACE-Augmented", "VGG-FACE")}
_TITLES = {
    13: "Age analysis of the dimensionally annotated databases: CCC and MSE per estimated age group (Sec. 6.5)",
    14: "Age analysis of the categorically annotated databases: F1 (RAF-DB, AffectNet) or total accuracy "
    "(AFEW, BU-3DFE) per estimated age group (Sec. 6.5)",
}
_GROUP = re.compile(r"(\d+)-(\d+)")
TOTAL = "total"


# --- age groups ------------------------------------------------------------------------------------


def age_groups(number: int, name: str) -> list[tuple[str, int, int]]:
    """The paper's age groups of one database, widened to cover 0 to 100 years.

    Returns
    -------
    list of (label, low, high), inclusive integer years, in order: the paper's groups (e.g.
    '20-29'), plus '0-<low-1>' below the first and '<high+1>+' above the last where they leave
    ages uncovered.
    """
    theirs = paper.table(number)
    labels = [row for db, row in theirs.index if db == name and row != TOTAL]
    groups = [(label, int(m[1]), int(m[2])) for label in labels if (m := _GROUP.fullmatch(label))]
    if not groups:
        raise ValueError(f"Table {number}: no age groups for {name!r} in affect.paper")
    if groups[0][1] > 0:
        groups.insert(0, (f"0-{groups[0][1] - 1}", 0, groups[0][1] - 1))
    if groups[-1][2] < 100:
        groups.append((f"{groups[-1][2] + 1}+", groups[-1][2] + 1, 100))
    return groups


def group_labels(ages: np.ndarray, groups: list[tuple[str, int, int]]) -> np.ndarray:
    """The group label of each age (years, floored: 29.7 is in '20-29')."""
    whole = np.clip(np.floor(np.asarray(ages, dtype=float)), 0, 100)
    labels = np.full(len(whole), "", dtype=object)
    for label, low, high in groups:
        labels[(whole >= low) & (whole <= high)] = label
    return labels


# --- ages ----------------------------------------------------------------------------------------


def estimator(run: Run, *, progress: bool = False):
    """The run's age estimator: trained once under ``results/runs/age_estimator`` (or read back)."""
    from affect.learning import age_estimator

    run_dir = run.out_dir / "results" / "runs" / "age_estimator"
    if run.reuse_results:
        return age_estimator.read_estimator(run_dir)
    return age_estimator.train_estimator(
        run_dir, profile=run.profile, data_source=run.data_source, seed=run.seed, device=run.device, progress=progress
    )


def _estimated(module, run: Run, database: str, split: str, paths: list[str], label: str) -> dict[str, float]:
    """Estimated age of each path (rows of ``split`` of ``database``)."""
    from affect.learning.age_estimator import estimate_ages

    frame = datasets.load(database, run.database_root(database), split)
    frame = frame[frame["path"].astype(str).isin(set(paths))].reset_index(drop=True)
    missing = set(paths) - set(frame["path"].astype(str))
    if missing:
        raise ValueError(
            f"{database}/{split}: {len(missing)} scored images are not in the database "
            f"(first: {sorted(missing)[0]}); was it rewritten after the runs?"
        )
    ages = estimate_ages(module, frame, label=f"{run.data_source}-{database}-{label}-age", device=run.device)
    return dict(zip(frame["path"].astype(str), ages))


def test_ages(source: AgeSource, result: RunResult, module, run: Run) -> pd.DataFrame:
    """Every scored test sample of a row with its estimated age (Sec. 6.5).

    Returns
    -------
    DataFrame ``[fold,] id, path, age`` (years), one row per row of ``result.predictions``, in order.
    """
    from affect.learning.prepared import load_prepared
    from affect.learning.runs import TEST_SPLITS, read_run

    parts = []
    for file in result.files:
        predictions = tables.read_predictions(file)
        index = load_prepared(read_run(file.parent).prepared["test"]).index
        paths = dict(zip(index["id"].astype(str), index["path"].astype(str)))
        keys = [c for c in ("fold", "id") if c in predictions]
        parts.append(predictions[keys].assign(path=[paths[str(i)] for i in predictions["id"]]))
    frame = pd.concat(parts, ignore_index=True)
    split = "all" if source.database in datasets.FOLDS else TEST_SPLITS[source.database]
    ages = _estimated(module, run, source.database, split, sorted(set(frame["path"])), "test")
    frame["age"] = frame["path"].map(ages)
    return frame


def synthesized_ages(source: AgeSource, augmented_folder: Path, module, run: Run) -> np.ndarray:
    """The age of every synthesized image of a table's augmented set: its source photo's estimate."""
    from affect.augmentation.manifest import read_manifest

    manifest = read_manifest(augmented_folder)
    split = "train" if "train" in datasets.SPLITS[source.database] else "all"
    sources = manifest["source"].astype(str)
    ages = _estimated(module, run, source.database, split, sorted(set(sources)), "sources")
    return sources.map(ages).to_numpy(dtype=float)


# --- scoring per group ------------------------------------------------------------------------------


def _criterion(number: int, source: AgeSource, spec: TableSpec, classes: list[str]):
    """Predictions -> {column: value}: CCC and MSE per dimension, or the table's F1 / accuracy."""
    criteria = ("ccc", "mse") if source.criterion == "va" else ("accuracy", "f1")
    scoring = tables.criteria(replace(spec, criteria=criteria), classes)
    if number == 13:
        return lambda p: {f"{m} {d}": v for (m, d), v in scoring(p).items()}
    key = ("F1", "") if source.criterion == "F1" else ("accuracy", "")
    return lambda p: {"performance": scoring(p)[key]}


def _group_of_rows(
    source: AgeSource, predictions: pd.DataFrame, ages: pd.DataFrame, groups: list[tuple[str, int, int]]
) -> tuple[np.ndarray, np.ndarray]:
    """(age, group label) of every prediction row; a video's age is its frames' median (Table 8)."""
    age = ages["age"].to_numpy(dtype=float)
    if affect_tables.TABLES[source.table].video_level:
        keys = (
            predictions["video"].astype(str)
            + "|"
            + predictions.get("fold", pd.Series(0, index=predictions.index)).astype(str)
        )
        age = pd.Series(age).groupby(keys.to_numpy()).transform("median").to_numpy()
    return age, group_labels(age, groups)


def age_rows(
    number: int,
    source: AgeSource,
    results: dict[str, RunResult],
    ages: pd.DataFrame,
    synthesized: np.ndarray,
    *,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """One database block of Table 13 or 14: counts and both networks' scores per age group.

    Parameters
    ----------
    number : {13, 14}
    source : AgeSource
    results : dict of row label -> RunResult
        The table's runs (:func:`affect.experiments.affect_tables.run_table`); the baseline and
        the proposed rows are used.
    ages : DataFrame
        :func:`test_ages` of the baseline's predictions (both networks see the same test set).
    synthesized : (M,) float
        :func:`synthesized_ages`.

    Returns
    -------
    DataFrame indexed (database, age group) with 'test samples' (AFEW: videos, and
    'test frames'), 'synthesized samples', then for each network each cell with ``low`` /
    ``high`` (its 95 % bootstrap interval over test subjects or videos), the improvement of the
    augmented network over the baseline with its paired interval, and the bootstrap unit.
    """
    spec = affect_tables.TABLES[source.table]
    baseline = next(r for r in results.values() if r.row.role == BASELINE)
    proposed = next(r for r in results.values() if r.row.role == PROPOSED)
    classes = tables.table_classes(results)
    criterion = _criterion(number, source, spec, classes)
    groups = age_groups(number, source.name)
    keys = [c for c in ("fold", "id") if c in baseline.predictions]
    age, label = _group_of_rows(source, baseline.predictions, ages, groups)
    group_of = dict(zip(map(tuple, baseline.predictions[keys].astype(str).to_numpy()), label))
    synthesized_groups = pd.Series(group_labels(synthesized, groups)).value_counts()
    augmented_name, baseline_name = MODELS[number]
    records = {}
    for name, _, _ in groups + [(TOTAL, 0, 100)]:
        record: dict[str, object] = {}
        chosen = {}
        for model, result in ((augmented_name, proposed), (baseline_name, baseline)):
            rows = [group_of.get(k, "") for k in map(tuple, result.predictions[keys].astype(str).to_numpy())]
            mask = np.ones(len(rows), bool) if name == TOTAL else np.array(rows) == name
            chosen[model] = replace(result, predictions=result.predictions[mask].reset_index(drop=True))
        scored_rows = tables.scored_predictions(spec, chosen[baseline_name].predictions, classes)
        record["test samples"] = len(scored_rows)
        if spec.video_level:
            record["test frames"] = len(chosen[baseline_name].predictions)
        record["synthesized samples"] = int(len(synthesized) if name == TOTAL else synthesized_groups.get(name, 0))
        if len(scored_rows) == 0:
            records[(source.name, name)] = record
            continue
        for model, result in chosen.items():
            scored = tables.score_intervals(
                spec, result.predictions, classes, n_bootstrap=n_bootstrap, seed=seed, criterion=criterion
            )
            record.update(tables.interval_columns(scored, prefix=model))
            record["bootstrap unit"] = scored["unit"].iloc[0]
        gain = _paired(number, source, spec, chosen[augmented_name], chosen[baseline_name], n_bootstrap, seed)
        record.update(tables.interval_columns(gain, prefix="improvement", value="improvement"))
        records[(source.name, name)] = record
    frame = pd.DataFrame.from_dict(records, orient="index")
    frame.index = pd.MultiIndex.from_tuples(frame.index, names=["database", "age"])
    frame["mean estimated age"] = [
        float(np.mean(age)) if n == TOTAL else float(np.mean(age[label == n])) if (label == n).any() else np.nan
        for _, n in frame.index
    ]
    return frame


def _paired(
    number: int, source: AgeSource, spec: TableSpec, better: RunResult, worse: RunResult, n_bootstrap: int, seed: int
) -> pd.DataFrame:
    """Improvement of the augmented network in each cell, with its paired bootstrap interval."""
    criteria = ("ccc", "mse") if source.criterion == "va" else ("accuracy", "f1")
    claim = tables.paired_claim(replace(spec, criteria=criteria), better, worse, n_bootstrap=n_bootstrap, seed=seed)
    if number == 13:
        return claim
    return claim.loc[["F1" if source.criterion == "F1" else "accuracy"]].rename(lambda _: "performance")


# --- the table ----------------------------------------------------------------------------------


def age_table(
    number: int,
    run: Run,
    *,
    n_bootstrap: int | None = None,
    progress: bool = False,
) -> tuple[pd.DataFrame, dict]:
    """Table 13 or 14 of this run: every block's rows, the estimator's record and the notes.

    The baseline and proposed networks of Tables 2 to 9 are reused from
    ``results/runs/table_NN`` (trained there first where absent); the age estimator is
    trained once per run folder. With ``run.reuse_results`` everything is read back.

    Returns
    -------
    (the table as :func:`age_rows` blocks one under the other, a dict of notes:
    ``estimator`` (its sentence), ``files`` (prediction and age files), ``setting``).
    """
    from affect import reporting

    if number not in AGE_TABLES:
        raise ValueError(f"number: Tables 13 and 14 are the age tables, got {number}")
    key = f"table_{number:02d}"
    n_bootstrap = n_bootstrap or run.profile.bootstrap_resamples

    def compute() -> tuple[pd.DataFrame, dict]:
        found = estimator(run, progress=progress)
        module = found.module()
        blocks, files, trained = [], [], []
        for source in AGE_TABLES[number]:
            spec = affect_tables.baseline_and_proposed(affect_tables.TABLES[source.table])
            results = affect_tables.run_table(spec, run, progress=progress)
            trained += results.values()
            baseline = next(r for r in results.values() if r.row.role == BASELINE)
            ages = test_ages(source, baseline, module, run)
            built = run.augmented_set(source.database, spec.kind)
            synthesized = synthesized_ages(source, built.folder, module, run)
            ages_file = run.path("results", f"{key}_ages_{source.database}.csv")
            shown = ages.assign(path=[relative_path(path, run.out_dir) for path in ages["path"]])
            reporting.atomic_write_text(ages_file, shown.to_csv(index=False))
            blocks.append(age_rows(number, source, results, ages, synthesized, n_bootstrap=n_bootstrap, seed=run.seed))
            files += [str(f.relative_to(run.out_dir)) for r in results.values() for f in r.files]
            files.append(str(ages_file.relative_to(run.out_dir)))
        notes = {
            "estimator": found.sentence(),
            "files": files,
            "setting": f"gallery: {run.gallery_source}; networks and budgets of Tables "
            f"{', '.join(str(s.table) for s in AGE_TABLES[number])}; {tables.weights_setting(trained)}",
        }
        return pd.concat(blocks), notes

    frame, notes = reporting.cached(run, key, compute)
    write_age_table(number, frame, run, notes)
    return frame, notes


def claim_sentence(number: int, frame: pd.DataFrame) -> str:
    """Sec. 6.5's claim (augmentation helps in every age group) stated as holding or not on this run."""
    columns = [c for c in frame.columns if c.startswith("improvement ") and not c.endswith((" low", " high"))]
    groups = frame.drop(index=TOTAL, level="age", errors="ignore")
    values = groups[columns].to_numpy(dtype=float)
    lows = groups[[f"{c} low" for c in columns]].to_numpy(dtype=float)
    known = np.isfinite(values)
    better, clear = int((values[known] > 0).sum()), int((lows[known] > 0).sum())
    verdict = "holds" if known.any() and better == known.sum() else "does not hold"
    return (
        f"Paper's claim (Sec. 6.5): the network trained with the synthesized faces is better in every age "
        f"group, on every criterion (for MSE: lower). On this run it {verdict}: better in {better} of "
        f"{int(known.sum())} (group, criterion) cells, with the whole 95 % paired bootstrap interval of the "
        f"improvement above 0 in {clear}."
    )


def write_age_table(number: int, frame: pd.DataFrame, run: Run, notes: dict) -> Path:
    """Write ``tables/table_NN.md`` and ``.csv``: this run's counts and scores beside the paper's.

    The Markdown shows, per database and age group, the test and synthesized counts and each
    network's cells ('valence - arousal' in Table 13, as the paper prints them) with their
    intervals; the CSV holds every number with its bounds, the paper's values (``paper
    <column>``) and the prediction files.
    """
    from affect.reporting import PROXY_NOTICE, flat_columns

    theirs = flat_columns(paper.table(number))
    rows = list(theirs.index) + [i for i in frame.index if i not in set(theirs.index)]
    order = {name: k for k, name in enumerate(s.name for s in AGE_TABLES[number])}
    rows = sorted(dict.fromkeys(rows), key=lambda i: (order.get(i[0], 99), _group_order(i[1])))
    ours = frame.reindex(rows)
    csv = ours.copy()
    for column in theirs.columns:
        csv[f"paper {column}"] = theirs[column].reindex(rows).to_numpy()
    csv["predictions"] = ";".join(notes["files"])
    criterion = (
        "criteria: CCC and MSE of valence - arousal"
        if number == 13
        else "criterion: F1 (RAF-DB, AffectNet), total accuracy (AFEW per video, BU-3DFE)"
    )
    return tables.write_table(
        run,
        number,
        title=_TITLES[number],
        setting=notes["setting"],
        shown=_shown(number, ours, theirs.reindex(rows)),
        csv=csv,
        caption=f"This run ({run.label}): value [95 % bootstrap interval over test subjects or videos]; "
        f"{criterion}; the paper's printed numbers beside them. Age groups are those of the paper, with groups "
        "of their own for estimates outside them; test faces are grouped by their estimated age, synthesized "
        "faces by the estimated age of their source photo (all synthesized faces of the table's augmented set; "
        "the cross-validated tables train each fold on its own part).",
        notes=[notes["estimator"], "", claim_sentence(number, frame)],
        proxy_notice=PROXY_NOTICE + " The stand-in faces show the ages drawn for them (greying hair, wrinkles, "
        "a child's proportions), and the estimator learnt them from the stand-in IMDB-WIKI and Adience.",
    )


def _shown(number: int, ours: pd.DataFrame, theirs: pd.DataFrame) -> pd.DataFrame:
    """The Markdown's table: counts and each network's cells, this run's beside the paper's, row by row."""
    shown = pd.DataFrame(index=ours.index)
    counts = [("test samples", "test samples")] + ([("test frames", "test frames")] if number == 14 else [])
    for column, label in counts + [("synthesized samples", "synthesized")]:
        shown[f"{label}: this run"] = [
            tables.count_cell(v) for v in ours.get(column, pd.Series(np.nan, index=ours.index))
        ]
        shown[f"{label}: paper"] = [tables.count_cell(v) for v in theirs[column]] if column in theirs else ""
    for model in MODELS[number]:
        if number == 13:
            for metric in ("CCC", "MSE"):
                valence = tables.interval_cells(ours, f"{model} {metric} valence")
                arousal = tables.interval_cells(ours, f"{model} {metric} arousal")
                shown[f"{model} {metric} (V - A): this run"] = [
                    f"{v} - {a}" if v else "" for v, a in zip(valence, arousal)
                ]
                pv = theirs.get(f"{model} {metric} valence", pd.Series(dtype=float)).reindex(theirs.index)
                pa = theirs.get(f"{model} {metric} arousal", pd.Series(dtype=float)).reindex(theirs.index)
                shown[f"{model} {metric} (V - A): paper"] = [
                    "" if pd.isna(v) else f"{v:.3f} - {a:.3f}" for v, a in zip(pv, pa)
                ]
        else:
            shown[f"{model}: this run"] = tables.interval_cells(ours, f"{model} performance")
            shown[f"{model}: paper"] = [("" if pd.isna(v) else f"{v:.3f}") for v in theirs[f"{model} performance"]]
    shown.index = [f"{db} {age}" for db, age in shown.index]
    shown.index.name = "database, age"
    return shown


def _group_order(label: str) -> tuple[int, int]:
    if label == TOTAL:
        return (1, 0)
    match = re.match(r"(\d+)", label)
    return (0, int(match[1]) if match else 0)


# --- figures --------------------------------------------------------------------------------------


def estimator_figure(found) -> object:
    """Estimated against labelled age on the estimator's held-out WIKI set (Sec. 6.5), with its MAE."""
    import matplotlib.pyplot as plt

    from affect.learning.evaluation import PREDICTIONS

    predictions = pd.read_csv(Path(found.run_dir) / PREDICTIONS)
    fig, ax = plt.subplots(figsize=(4.2, 4.0))
    ax.scatter(predictions["age"], predictions["age_pred"], s=8, alpha=0.6)
    ax.plot([0, 100], [0, 100], color="grey", lw=1, ls="--")
    ax.set(
        xlim=(0, 100),
        ylim=(0, 100),
        xlabel="labelled age, years",
        ylabel="estimated age, years",
        title=f"WIKI: MAE {found.mae:.1f} [{found.mae_low:.1f}, {found.mae_high:.1f}] years, {len(predictions)} faces",
    )
    ax.title.set_fontsize("small")
    fig.tight_layout()
    return fig


def age_group_figure(number: int, frame: pd.DataFrame) -> object:
    """Each database's criterion per age group, both networks, with the 95 % bootstrap intervals.

    Table 13: CCC of valence (solid) and arousal (dashed); Table 14: F1 or accuracy.
    """
    import matplotlib.pyplot as plt

    blocks = list(dict.fromkeys(frame.index.get_level_values("database")))
    fig, axes = plt.subplots(1, len(blocks), figsize=(3.6 * len(blocks), 3.2), squeeze=False)
    cells = [("CCC valence", "-"), ("CCC arousal", "--")] if number == 13 else [("performance", "-")]
    for ax, block in zip(axes[0], blocks):
        rows = frame.loc[block].drop(index=TOTAL, errors="ignore")
        x = np.arange(len(rows))
        for offset, (model, colour) in zip((-0.08, 0.08), zip(MODELS[number], ("tab:red", "tab:blue"))):
            for cell, style in cells:
                column = f"{model} {cell}"
                if column not in rows:
                    continue
                values = rows[column].to_numpy(dtype=float)
                errors = np.abs(rows[[f"{column} low", f"{column} high"]].to_numpy(dtype=float).T - values)
                ax.errorbar(
                    x + offset,
                    values,
                    yerr=np.nan_to_num(errors),
                    color=colour,
                    ls=style,
                    marker="o",
                    ms=3,
                    capsize=2,
                    label=f"{model} {cell}" if number == 13 else model,
                )
        ax.set_xticks(x, rows.index, rotation=45, fontsize="small")
        ax.set_title(block, fontsize="small")
        ax.set_xlabel("estimated age, years")
    axes[0][0].set_ylabel("CCC" if number == 13 else "F1 / accuracy")
    axes[0][-1].legend(fontsize="x-small")
    fig.tight_layout()
    return fig
