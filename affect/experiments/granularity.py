"""Table 12 and Fig. 20: the improvement over the baseline against the synthesized images added (Sec. 6.4).

For each database of Tables 2 to 9 the paper trains the proposed row's network on the training
set plus N of its synthesized images, for the N of Table 12, and plots the improvement over the
network trained on the training set alone. The kit's synthesized sets are smaller than the
paper's, so each N becomes the same fraction of the kit's full set: ``N_i / N_last`` of Table
12's row times the size of the table's augmented set (:func:`scaled_points`). The subsets are
nested: one seeded permutation of the manifest, its first N rows (:func:`nested_subset`).

The endpoints are the runs of Tables 2 to 9: N = 0 is the baseline row, N = all is the proposed
row (:func:`affect.experiments.affect_tables.run_table` trains them only where a run has none).
The points between train the same network with the same budget and seed under
``results/runs/granularity/table_NN/n<N>``. The profile chooses how many of the paper's points
run, how many folds of the cross-validated Tables 5 and 9, and how many seeds; extra seeds
train every point, endpoints included, under ``seed<s>/``.

Each point's improvement is the criterion of Fig. 20 (mean CCC of valence and arousal; mean
diagonal of the confusion matrix for RAF-DB; F1 for AffectNet; accuracy for AFEW, per video as
in Table 8, and BU-3DFE) minus the baseline's, with the paired 95 % bootstrap interval of
:func:`affect.experiments.tables.paired_claim`. :func:`deductions` states the paper's
five general deductions as holding or not on those numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from affect import paper
from affect.experiments import affect_tables, tables
from affect.experiments.tables import BASELINE, PROPOSED, Row, RunResult, TableSpec
from affect.profiles import Profile
from affect.run import Run

__all__ = [
    "Curve",
    "CURVES",
    "curves",
    "paper_points",
    "fractions",
    "scaled_points",
    "chosen_points",
    "nested_subset",
    "subset_manifest",
    "point_dir",
    "CurveRuns",
    "curve_runs",
    "improvement",
    "curve_frame",
    "curve_steps",
    "DEDUCTIONS",
    "deductions",
    "granularity_table",
    "write_granularity_table",
    "granularity_figure",
]

#: Sec. 6.4: AffectNet VA's curve flattens beyond about 1.5M added images (deduction 3).
PLATEAU_N = 1_500_000


@dataclass(frozen=True)
class Curve:
    """One database's curve of Fig. 20.

    Attributes
    ----------
    table : int
        The table of Sec. 6.2 whose baseline and proposed rows are the endpoints (2 to 9).
    name : str
        The database's row in Table 12.
    criterion : str
        Fig. 20's criterion: 'mean CCC', 'mean diagonal', 'F1' or 'accuracy'.
    """

    table: int
    name: str
    criterion: str

    @property
    def panel(self) -> str:
        """Fig. 20's panel: 'va' (a) or 'expression' (b)."""
        return affect_tables.TABLES[self.table].kind


#: Fig. 20's curves, in Table 12's order.
CURVES: tuple[Curve, ...] = (
    Curve(2, "Aff-Wild", "mean CCC"),
    Curve(3, "RECOLA", "mean CCC"),
    Curve(4, "AffectNet (VA)", "mean CCC"),
    Curve(5, "AFEW-VA", "mean CCC"),
    Curve(6, "RAF-DB", "mean diagonal"),
    Curve(7, "AffectNet (Expressions)", "F1"),
    Curve(8, "AFEW", "accuracy"),
    Curve(9, "BU-3DFE", "accuracy"),
)


def curves(profile: Profile) -> tuple[Curve, ...]:
    """The curves a profile runs (``granularity_tables``; None: all eight)."""
    tables = profile.granularity_tables
    return CURVES if tables is None else tuple(c for c in CURVES if c.table in tables)


# --- the points ---------------------------------------------------------------------------------


def paper_points(name: str) -> list[int]:
    """Table 12's N values of one database, ascending (images)."""
    theirs = paper.table(12)
    if name not in theirs.index:
        raise ValueError(f"Table 12 has no row {name!r}; rows: {list(theirs.index)}")
    return [int(v) for v in theirs.loc[name].dropna()]


def fractions(name: str) -> np.ndarray:
    """Each N of Table 12's row over the row's last (largest) N: (k,) float in (0, 1], last 1."""
    points = np.asarray(paper_points(name), dtype=float)
    return points / points[-1]


def scaled_points(fraction: np.ndarray, full: int) -> list[tuple[int, int]]:
    """The paper's fractions applied to a synthesized set of ``full`` images.

    Returns
    -------
    list of (index into Table 12's row, N), N ascending and distinct: at small sizes several
    fractions round to the same N, and only the first of them is kept (the paper's last N for
    ``full``).
    """
    if full < 1:
        raise ValueError(f"full: the synthesized set is empty ({full} images)")
    chosen: dict[int, int] = {}
    for index, share in enumerate(fraction[:-1]):
        chosen.setdefault(min(full, max(1, round(float(share) * full))), index)
    chosen[full] = len(fraction) - 1  # the whole set is the paper's last N
    return sorted(((index, n) for n, index in chosen.items()), key=lambda pair: pair[1])


def chosen_points(points: list[tuple[int, int]], count: int | None) -> list[tuple[int, int]]:
    """The points a profile runs: ``count`` of those below the full set, spread over them, and the full set.

    The smallest point is always among them (deductions 2 and 4 compare it with the others);
    ``count=None`` keeps every point.
    """
    below, full = points[:-1], points[-1]
    if count is None or count >= len(below):
        return list(points)
    if count < 1:
        return [full]
    picks = np.unique(np.round(np.linspace(0, len(below), count + 1)[:-1]).astype(int))
    return [below[i] for i in picks] + [full]


def nested_subset(manifest: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """The first ``n`` rows of one seeded permutation of a manifest: every smaller N is a subset of a larger."""
    if not 0 <= n <= len(manifest):
        raise ValueError(f"n: the manifest holds {len(manifest)} synthesized images, got {n}")
    order = np.random.default_rng(seed).permutation(len(manifest))
    return manifest.iloc[np.sort(order[:n])]


def subset_manifest(manifest: pd.DataFrame, n: int, seed: int, folder: Path, tag: str) -> Path:
    """Write :func:`nested_subset` as a manifest file in the build's ``folder`` (so its relative paths resolve)."""
    from affect.augmentation import write_manifest

    return write_manifest(nested_subset(manifest, n, seed), folder / f"manifest-granularity-{tag}-n{n}-seed{seed}.csv")


def point_dir(run: Run, table: int, n: int, seed: int, fold: int | None) -> Path:
    """Run folder of one point: ``results/runs/granularity/table_NN/[seed<s>/]n<N>[/fold<k>]``."""
    base = run.out_dir / "results" / "runs" / "granularity" / f"table_{table:02d}"
    if seed != run.seed:
        base = base / f"seed{seed}"
    base = base / f"n{n}"
    return base if fold is None else base / f"fold{fold}"


# --- the runs -----------------------------------------------------------------------------------


def _folds(run: Run, spec: TableSpec) -> list[int | None]:
    if spec.folds is None:
        return [None]
    count = tables.fold_count(run, spec.database)
    wanted = run.profile.granularity_folds
    return list(range(count if wanted is None else min(wanted, count)))


def _synthesized(run: Run, spec: TableSpec, built, seed: int, fold: int | None) -> pd.DataFrame:
    """The synthesized images a run (seed, fold) may add: the whole set, or the fold's share."""
    from affect.augmentation import augment_folds
    from affect.augmentation.manifest import MANIFEST, read_manifest
    from affect.learning import runs

    manifest = read_manifest(built.folder / MANIFEST)
    if fold is None:
        return manifest
    split = runs.database_splits(spec.database, run.database_root(spec.database), seed=seed, fold=fold)
    return augment_folds([(split["train"], split["test"])], manifest)[0]


def _extra(manifest: pd.DataFrame, share: float | None, seed: int, folder: Path, fold: int | None):
    """The synthesized images of one point, written when a run needs them: None (the baseline) or a manifest.

    ``share`` of this fold's synthesized set (1: all of it), nested across the points of a seed.
    """
    if share is None:
        return lambda: None
    n = len(manifest) if share >= 1 else min(len(manifest), max(1, round(share * len(manifest))))
    return lambda: subset_manifest(manifest, n, seed, folder, "all" if fold is None else f"fold{fold}")


def _train(
    run: Run,
    spec: TableSpec,
    row: Row,
    run_dir: Path,
    seed: int,
    fold: int | None,
    extra,
    progress: bool,
) -> Path:
    """Train and evaluate one point (as :func:`affect_tables.run_table` trains a row); its predictions file.

    ``extra``: callable returning the synthesized images' manifest (None: the training set alone).
    """
    from affect.learning import evaluation, runs

    predictions = run_dir / evaluation.PREDICTIONS
    if not run.reuse_results:
        tables.move_aside_if_stale(run_dir, run, row.network)
    if not predictions.exists():
        if run.reuse_results:
            raise tables.not_saved(predictions)
        runs.train(
            row.network,
            spec.database,
            run_dir,
            profile=run.profile,
            data_source=run.data_source,
            task=spec.task,
            seed=seed,
            device=run.device,
            weights=run.weights.source(row.network),
            augmented=extra(),
            fold=fold,
            progress=progress,
            weighted_loss=spec.task == "expression",
            landmarks=row.landmarks,
        )
        runs.evaluate_run(run_dir, device=run.device, n_bootstrap=100)  # the table bootstraps the differences
    return predictions


def _result(row, files: list[Path]) -> RunResult:
    from affect.learning import runs

    parts = [tables.read_predictions(f) for f in files]
    return RunResult(row, pd.concat(parts, ignore_index=True), tuple(files), runs.read_run(files[0].parent).pretrained)


@dataclass(frozen=True)
class CurveRuns:
    """One database's runs: per seed, N -> the network's predictions (N = 0 the baseline)."""

    curve: Curve
    real: int  # real training images of the database
    full: int  # synthesized images of the whole set (first fold's share)
    points: list[tuple[int, int]]  # every (Table 12 index, N) at this scale
    chosen: list[tuple[int, int]]  # the ones run
    results: dict[int, dict[int, RunResult]]  # seed -> N -> result
    reused: dict[int, str]  # N -> where the main seed's run came from


def curve_runs(
    curve: Curve,
    run: Run,
    *,
    progress: bool = False,
) -> CurveRuns:
    """Every run of one curve: the table's endpoints reused, the points between trained."""
    spec = affect_tables.baseline_and_proposed(affect_tables.TABLES[curve.table])
    sizes = run.profile
    folds = _folds(run, spec)
    table = affect_tables.run_table(
        spec, run, progress=progress, gans=False, folds=len(folds) if folds != [None] else None
    )
    baseline = next(r for r in table.values() if r.row.role == BASELINE)
    proposed = next(r for r in table.values() if r.row.role == PROPOSED)
    built = run.augmented_set(spec.database, spec.kind)
    first = _synthesized(run, spec, built, run.seed, folds[0])
    points = scaled_points(fractions(curve.name), len(first))
    chosen = chosen_points(points, sizes.granularity_points)
    share = fractions(curve.name)
    results: dict[int, dict[int, RunResult]] = {}
    for seed in range(run.seed, run.seed + sizes.granularity_seeds):
        own = {0: baseline, chosen[-1][1]: proposed} if seed == run.seed else {}
        per_fold = {fold: _synthesized(run, spec, built, seed, fold) for fold in folds}
        for index, n in [(None, 0)] + chosen:
            if n in own:
                continue
            row = baseline.row if index is None else proposed.row
            files = [
                _train(
                    run,
                    spec,
                    row,
                    point_dir(run, curve.table, n, seed, fold),
                    seed,
                    fold,
                    _extra(manifest, None if index is None else share[index], seed, built.folder, fold),
                    progress,
                )
                for fold, manifest in per_fold.items()
            ]
            own[n] = _result(row, files)
        results[seed] = dict(sorted(own.items()))
    reused = {0: f"baseline run of Table {curve.table}", chosen[-1][1]: f"proposed run of Table {curve.table}"}
    return CurveRuns(curve, built.real, len(first), points, chosen, results, reused)


# --- the improvements -----------------------------------------------------------------------------


def _criterion_spec(curve: Curve) -> TableSpec:
    """The table with the cells Fig. 20's criterion is made from (CCC for the VA databases)."""
    spec = affect_tables.TABLES[curve.table]
    return replace(spec, criteria=("ccc",)) if spec.task == "va" else spec


def _summary(curve: Curve):
    """A network's cells -> Fig. 20's one criterion."""
    if curve.criterion == "mean CCC":
        return lambda cells: {("mean CCC", ""): (cells[("CCC", "valence")] + cells[("CCC", "arousal")]) / 2}
    key = {"mean diagonal": ("average", ""), "F1": ("F1", ""), "accuracy": ("accuracy", "")}[curve.criterion]
    return lambda cells: {(curve.criterion, ""): cells[key]}


def improvement(
    curve: Curve, better: RunResult, worse: RunResult, *, n_bootstrap: int = 1000, seed: int = 0
) -> pd.Series:
    """Fig. 20's criterion of ``better`` minus that of ``worse``, with the paired 95 % bootstrap interval.

    Returns
    -------
    Series ``improvement, low, high, unit, n_units``.
    """
    claim = tables.paired_claim(
        _criterion_spec(curve), better, worse, n_bootstrap=n_bootstrap, seed=seed, summary=_summary(curve)
    )
    return claim.iloc[0][["improvement", "low", "high", "unit", "n_units"]]


def curve_frame(runs: CurveRuns, out_dir: Path, *, n_bootstrap: int = 1000, seed: int = 0) -> pd.DataFrame:
    """One database's rows of Table 12: every paper N, the N this run used, and each seed's improvement.

    Returns
    -------
    DataFrame, one row per (paper N, seed run): ``database, table, criterion, paper N, fraction,
    N, seed, status, improvement, low, high, unit, n_units, predictions`` (``N`` empty for the
    paper's points not run).
    """
    curve, share = runs.curve, fractions(runs.curve.name)
    run_n = dict(runs.chosen)
    same = {index: n for index, n in runs.points}
    records = []
    for index, paper_n in enumerate(paper_points(curve.name)):
        base = {
            "database": curve.name,
            "table": curve.table,
            "criterion": curve.criterion,
            "paper N": paper_n,
            "fraction": float(share[index]),
        }
        if index not in run_n:
            scaled = max(1, round(float(share[index]) * runs.full))
            status = (
                "not run at this profile"
                if index in same
                else f"rounds to N = {scaled}, as another of the paper's N, at this scale"
            )
            records.append({**base, "N": np.nan, "status": status})
            continue
        n = run_n[index]
        for run_seed, by_n in runs.results.items():
            gain = improvement(curve, by_n[n], by_n[0], n_bootstrap=n_bootstrap, seed=seed)
            status = runs.reused.get(n, "trained") if run_seed == min(runs.results) else "trained"
            files = ";".join(str(Path(f).relative_to(out_dir)) for f in by_n[n].files)
            baseline_files = ";".join(str(Path(f).relative_to(out_dir)) for f in by_n[0].files)
            records.append(
                {
                    **base,
                    "N": n,
                    "seed": run_seed,
                    "status": status,
                    **gain.to_dict(),
                    "predictions": files,
                    "baseline predictions": baseline_files,
                }
            )
    frame = pd.DataFrame.from_records(records)
    frame["real training images"] = runs.real
    frame["synthesized set"] = runs.full
    return frame


def curve_steps(runs: CurveRuns, *, n_bootstrap: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Paired differences between the augmented networks of the main seed (deductions 2 to 4).

    Returns
    -------
    DataFrame with rows ``'smallest to full'`` (full N minus the smallest N run) and ``'last step'``
    (full N minus the N before it): ``database, step, from N, to N, difference, low, high``; empty
    when only the full set was run.
    """
    by_n = runs.results[min(runs.results)]
    ns = [n for n in by_n if n > 0]
    if len(ns) < 2:
        return pd.DataFrame(columns=["database", "step", "from N", "to N", "difference", "low", "high"])
    rows, gains = [], {}
    for step, low_n in (("smallest to full", ns[0]), ("last step", ns[-2])):
        if low_n not in gains:  # one point below the full set: both steps are the same pair
            gains[low_n] = improvement(runs.curve, by_n[ns[-1]], by_n[low_n], n_bootstrap=n_bootstrap, seed=seed)
        gain = gains[low_n]
        rows.append(
            {
                "database": runs.curve.name,
                "step": step,
                "from N": low_n,
                "to N": ns[-1],
                "difference": gain["improvement"],
                "low": gain["low"],
                "high": gain["high"],
            }
        )
    return pd.DataFrame(rows)


# --- the paper's general deductions ----------------------------------------------------------------

#: The five general deductions after Fig. 20 (Sec. 6.4), in the paper's order, paraphrased.
DEDUCTIONS = (
    "the smaller the database, the bigger the increase in performance from the synthesized data",
    "the improvement is small when few synthesized images are added in proportion to the training set",
    "in the dimensionally annotated databases a plateau is reached when a lot of data (more than about 1.5M) are added",
    "the gain does not grow commensurately with N: on AffectNet VA it saturates as N increases",
    "the increase is larger in the categorically annotated databases than in the dimensionally annotated ones",
)
NOT_TESTABLE = "not testable on this run"


def _final(points: pd.DataFrame) -> pd.DataFrame:
    """The main seed's improvement with the whole synthesized set, one row per database."""
    main = _main(points)
    return main[main["fraction"] >= 1].set_index("database")


def _main(points: pd.DataFrame) -> pd.DataFrame:
    return points[points["N"].notna() & (points["seed"] == points["seed"].min())]


def _sentence(number: int, verdict: str, evidence: str) -> str:
    said = "is " + verdict if verdict.startswith("not testable") else verdict
    return f"Paper's deduction {number} (Sec. 6.4): {DEDUCTIONS[number - 1]}. On this run it {said} ({evidence})."


def _deduction_size(points: pd.DataFrame) -> str:
    from scipy.stats import spearmanr

    final = _final(points)
    if len(final) < 3:
        return _sentence(1, NOT_TESTABLE, f"{len(final)} databases reached the full synthesized set; 3 are needed")
    rho, p = spearmanr(final["real training images"], final["improvement"])
    verdict = tables.verdict(bool(rho < 0), bool(rho < 0 and p < 0.05))
    listed = ", ".join(
        f"{db} {int(r['real training images']):,} images: {r['improvement']:+.3f}"
        for db, r in final.sort_values("real training images").iterrows()
    )
    return _sentence(
        1,
        verdict,
        f"Spearman rank correlation between real training images and the final improvement "
        f"across {len(final)} databases: {rho:+.2f}, p = {p:.2f}; {listed}",
    )


def _deduction_few(points: pd.DataFrame, steps: pd.DataFrame) -> str:
    chosen = steps[steps["step"] == "smallest to full"].set_index("database") if len(steps) else steps
    if not len(chosen):
        return _sentence(2, NOT_TESTABLE, "no database ran a point below its full synthesized set")
    main = _main(points).set_index(["database", "N"])
    verdict = tables.verdict(bool((chosen["difference"] > 0).all()), bool((chosen["low"] > 0).all()))
    listed = "; ".join(
        f"{db}: N = {int(r['from N'])} {main.loc[(db, r['from N']), 'improvement']:+.3f}, "
        f"N = {int(r['to N'])} {main.loc[(db, r['to N']), 'improvement']:+.3f}, paired difference "
        f"{r['difference']:+.3f} [{r['low']:+.3f}, {r['high']:+.3f}]"
        for db, r in chosen.iterrows()
    )
    return _sentence(
        2, verdict, f"the improvement with the smallest N run below that with the whole set in every database: {listed}"
    )


def _deduction_plateau(points: pd.DataFrame, steps: pd.DataFrame) -> str:
    va = _main(points)[_main(points)["criterion"] == "mean CCC"]
    last = steps[(steps["step"] == "last step") & steps["database"].isin(set(va["database"]))] if len(steps) else steps
    listed = "; ".join(
        f"{r['database']}: N {int(r['from N'])} -> {int(r['to N'])} changes the mean CCC by "
        f"{r['difference']:+.3f} [{r['low']:+.3f}, {r['high']:+.3f}]"
        for _, r in last.iterrows()
    )
    largest = int(va["N"].max()) if len(va) else 0
    beyond = last[last["from N"] >= PLATEAU_N] if len(last) else last
    if not len(beyond):
        return _sentence(
            3,
            "not testable at this scale",
            f"the largest N of a VA database here is {largest:,}, not above {PLATEAU_N:,}"
            + (f"; for scale, the last step of each VA curve: {listed}" if listed else ""),
        )
    flat = bool((beyond["low"] <= 0).all())
    return _sentence(
        3,
        "holds" if flat else "does not hold",
        f"a plateau means no clear gain beyond {PLATEAU_N:,}: the paired interval of the last step "
        f"includes 0 or lies below it; {listed}",
    )


def _deduction_saturation(points: pd.DataFrame, steps: pd.DataFrame) -> str:
    main = _main(points)
    curve = main[main["database"] == "AffectNet (VA)"].sort_values("N")
    last = steps[(steps["database"] == "AffectNet (VA)") & (steps["step"] == "last step")] if len(steps) else steps
    if not len(last):
        return _sentence(4, NOT_TESTABLE, "AffectNet VA ran no point below its full synthesized set")
    first, step = curve.iloc[0], last.iloc[0]
    added = step["to N"] - step["from N"]
    per_first = np.array([first["improvement"], first["low"], first["high"]]) / first["N"]
    per_last = np.array([step["difference"], step["low"], step["high"]]) / added
    verdict = tables.verdict(bool(per_last[0] < per_first[0]), bool(per_last[2] < per_first[1]))
    return _sentence(
        4,
        verdict,
        f"mean CCC gained per added image: first step (0 -> {int(first['N'])}) "
        f"{per_first[0]:+.2e} [{per_first[1]:+.2e}, {per_first[2]:+.2e}], last step "
        f"({int(step['from N'])} -> {int(step['to N'])}) {per_last[0]:+.2e} "
        f"[{per_last[1]:+.2e}, {per_last[2]:+.2e}]; it holds only when the last step's "
        "interval lies below the first's",
    )


def _deduction_kinds(points: pd.DataFrame) -> str:
    final = _final(points)
    expression, va = final[final["criterion"] != "mean CCC"], final[final["criterion"] == "mean CCC"]
    if not len(expression) or not len(va):
        return _sentence(
            5, NOT_TESTABLE, f"{len(expression)} expression and {len(va)} VA databases reached the full synthesized set"
        )
    gap = expression["improvement"].mean() - va["improvement"].mean()
    # Independent test sets: the standard error of the gap from each interval's width (normal approximation).
    se = np.sqrt(sum(((g["high"] - g["low"]) / 3.92).pow(2).sum() / len(g) ** 2 for g in (expression, va)))
    verdict = tables.verdict(bool(gap > 0), bool(gap - 1.96 * se > 0))
    return _sentence(
        5,
        verdict,
        f"mean final improvement of {len(expression)} expression databases "
        f"{expression['improvement'].mean():+.3f} against {va['improvement'].mean():+.3f} of "
        f"{len(va)} VA databases: gap {gap:+.3f} [{gap - 1.96 * se:+.3f}, "
        f"{gap + 1.96 * se:+.3f}] (normal approximation from the bootstrap intervals; "
        "accuracy, F1 and mean diagonal against mean CCC, as in Fig. 20)",
    )


def deductions(points: pd.DataFrame, steps: pd.DataFrame) -> list[str]:
    """The paper's five general deductions (Sec. 6.4), each stated as holding or not on this run's numbers.

    Parameters
    ----------
    points : DataFrame
        :func:`curve_frame` of every database.
    steps : DataFrame
        :func:`curve_steps` of every database.

    Returns
    -------
    Five sentences: 'holds' (every interval it rests on agrees), 'holds on the point estimates
    only', 'does not hold', or not testable (and why), each with its numbers.
    """
    return [
        _deduction_size(points),
        _deduction_few(points, steps),
        _deduction_plateau(points, steps),
        _deduction_saturation(points, steps),
        _deduction_kinds(points),
    ]


# --- Table 12 and Fig. 20 ----------------------------------------------------------------------------


def granularity_table(
    run: Run,
    *,
    n_bootstrap: int | None = None,
    progress: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Table 12 of this run: every database's points, their improvements and the deductions' steps.

    The runs of Tables 2 to 9 are reused from ``results/runs/table_NN`` (trained there first
    where absent); with ``run.reuse_results`` everything is read back and nothing trains.
    ``n_bootstrap``: resamples of each paired interval (default: the profile's).

    Returns
    -------
    (:func:`curve_frame` of every database, :func:`curve_steps` of every database, notes: ``setting``
    and ``runs`` (points trained and reused)).
    """
    from affect import reporting

    n_bootstrap = n_bootstrap or run.profile.bootstrap_resamples

    def compute() -> tuple[pd.DataFrame, pd.DataFrame, dict]:
        frames, steps, trained, reused, results = [], [], 0, 0, []
        for curve in curves(run.profile):
            runs = curve_runs(curve, run, progress=progress)
            results += [r for by_n in runs.results.values() for r in by_n.values()]
            frames.append(curve_frame(runs, run.out_dir, n_bootstrap=n_bootstrap, seed=run.seed))
            steps.append(curve_steps(runs, n_bootstrap=n_bootstrap, seed=run.seed))
            reused += 2
            trained += sum(len(by_n) for by_n in runs.results.values()) - 2
        sizes = run.profile
        left_out = [c.name for c in CURVES if c not in curves(run.profile)]
        notes = {
            "setting": f"gallery: {run.gallery_source}; networks and budgets of Tables 2 to 9; "
            f"{tables.weights_setting(results)}",
            "runs": (f"Databases not run at this profile: {', '.join(left_out)}. " if left_out else "")
            + f"{trained} networks of this table's own (results/runs/granularity), {reused} reused "
            "from Tables 2 to 9 (N = 0: the baseline row; the whole set: the proposed row); "
            "intermediate points per database: "
            f"{'all of the paper' if sizes.granularity_points is None else sizes.granularity_points}"
            f"; seeds: {sizes.granularity_seeds}; folds of Tables 5 and 9: "
            f"{'all' if sizes.granularity_folds is None else sizes.granularity_folds}",
        }
        return (
            pd.concat(frames, ignore_index=True),
            pd.concat([s for s in steps if len(s)] or [steps[0]], ignore_index=True),
            notes,
        )

    points, steps, notes = reporting.cached(run, "table_12", compute)
    write_granularity_table(points, steps, run, notes)
    return points, steps, notes


def _shown(points: pd.DataFrame) -> pd.DataFrame:
    """Table 12 for the Markdown: one row per paper N, the main seed's improvement, the seeds' spread."""
    rows = []
    for (database, paper_n), group in points.groupby(["database", "paper N"], sort=False):
        run = group[group["N"].notna()]
        row = {
            "database": database,
            "paper N": tables.count_cell(paper_n),
            "N this run": tables.count_cell(group["N"].iloc[0]),
        }
        if not len(run):
            row.update({"improvement [95 % CI]": "", "run": group["status"].iloc[0]})
        else:
            main = run[run["seed"] == run["seed"].min()].iloc[0]
            row["improvement [95 % CI]"] = f"{main['improvement']:+.3f} [{main['low']:+.3f}, {main['high']:+.3f}]"
            if len(run) > 1:
                row["mean ± sd over seeds"] = f"{run['improvement'].mean():+.3f} ± {run['improvement'].std():.3f}"
            row["run"] = main["status"]
            row["predictions"] = main["predictions"]
        rows.append(row)
    return pd.DataFrame(rows).set_index("database").fillna("")


def write_granularity_table(points: pd.DataFrame, steps: pd.DataFrame, run: Run, notes: dict) -> Path:
    """Write ``tables/table_12.md`` and ``.csv``: the paper's N beside this run's, improvements and deductions."""
    title = (
        "Effect of the synthesized data's granularity: improvement over the baseline against the number N "
        "of synthesized images added (Sec. 6.4)"
    )
    sizes = points.drop_duplicates("database").set_index("database")
    scale = "; ".join(
        f"{db}: {int(r['synthesized set']):,} synthesized beside {int(r['real training images']):,} real"
        for db, r in sizes.iterrows()
    )
    return tables.write_table(
        run,
        12,
        title=title,
        setting=notes["setting"],
        shown=_shown(points),
        csv=points,
        csv_index=False,
        caption=f"This run ({run.label}): each N is the paper's N over the last N of its row, times this run's "
        f"whole synthesized set ({scale}; cross-validated tables: the first fold's share); the subsets are nested "
        "(one seeded permutation of the set, its first N images). Improvement: Fig. 20's criterion (mean CCC "
        "of valence and arousal; mean diagonal of the confusion matrix for RAF-DB; F1 for AffectNet; total "
        "accuracy for AFEW, per video, and BU-3DFE) of the augmented network minus the baseline's, with the 95 % "
        "paired bootstrap interval over test subjects or videos. " + notes["runs"] + ".",
        notes=deductions(points, steps),
    )


def granularity_figure(points: pd.DataFrame) -> object:
    """Fig. 20: improvement against N, (a) the VA databases, (b) the expression databases.

    Error bars: the main seed's 95 % paired bootstrap interval; with several seeds, grey bars
    just right of each point show the mean ± sd over seeds. N = 0 (the baseline, improvement 0 by definition) is left
    out of the logarithmic axis.
    """
    import matplotlib.pyplot as plt

    run = points[points["N"].notna()]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, (kind, label) in zip(
        axes,
        (
            ("va", "(a) mean CCC of valence and arousal"),
            ("expression", "(b) mean diagonal (RAF-DB), F1 (AffectNet), accuracy (AFEW, BU-3DFE)"),
        ),
    ):
        for curve in (c for c in CURVES if c.panel == kind):
            rows = run[run["database"] == curve.name]
            if not len(rows):
                continue
            main = rows[rows["seed"] == rows["seed"].min()].sort_values("N")
            errors = np.abs(main[["low", "high"]].to_numpy(dtype=float).T - main["improvement"].to_numpy(float))
            line = ax.errorbar(
                main["N"],
                main["improvement"],
                yerr=errors,
                marker="o",
                ms=3,
                capsize=2,
                label=f"{curve.name} ({curve.criterion})",
            )
            if rows["seed"].nunique() > 1:
                spread = rows.groupby("N")["improvement"].agg(["mean", "std"])
                # a little to the right of the main seed's bar, so that both show
                ax.errorbar(
                    spread.index.to_numpy(float) * 1.08,
                    spread["mean"],
                    yerr=spread["std"],
                    fmt="none",
                    ecolor="grey",
                    elinewidth=3,
                    alpha=0.4,
                    color=line.lines[0].get_color(),
                )
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xscale("log")
        ax.set(xlabel="N synthesized images added", ylabel="improvement over the baseline")
        ax.set_title(label, fontsize="small")
        ax.legend(fontsize="x-small")
    fig.tight_layout()
    return fig
