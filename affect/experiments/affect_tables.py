"""Tables 2 to 9: each database's network trained without and with the synthesized faces (Sec. 6.2).

For every table, :data:`TABLES` names the database, the network and the rows the paper prints;
the rows the kit can run are trained with :func:`affect.learning.runs.train` under one budget
and seed and scored on the test split by :func:`affect.learning.runs.evaluate_run`, which keeps
the predictions. Every number of a table is then computed from those prediction files, with a
95 % bootstrap interval over test subjects (or videos), and set beside the paper's. Expression
rows train with class-weighted cross-entropy (:func:`affect.learning.training.class_weights`),
every row of a table alike.

Rows the kit does not run keep the paper's number only ("paper's number, not re-run"). The
StarGAN and GANimation rows (:func:`gan_rows`) train the proposed row's network with the same
budget and seed on the training set plus that GAN's synthesized set (same neutral faces and VA
targets, :func:`affect.experiments.augmented_sets.augmented_set` with ``method``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from affect import metrics, paper
from affect.reporting import RunContext

__all__ = [
    "Row",
    "TableSpec",
    "TABLES",
    "RunResult",
    "run_table",
    "table_frame",
    "paired_claim",
    "video_predictions",
    "gan_rows",
    "gan_claim_sentence",
]

PROPOSED = "proposed"
BASELINE = "baseline"
NOT_RERUN = "paper's number, not re-run"
NOT_RUN_YET = "not run yet (GAN baselines)"
#: The GAN baselines of the ``gans`` rows, in the paper's row order (StarGAN, then GANimation).
GAN_ROLES = ("stargan", "ganimation")


@dataclass(frozen=True)
class Row:
    """One row of a table: the paper's label, and how the kit trains it (None: not re-run).

    Attributes
    ----------
    label : str
        The row's label in :func:`affect.paper.table`.
    network : str or None
        Network trained for it; None keeps the paper's number only.
    role : str
        ``'baseline'``, ``'proposed'`` (plus the synthesized faces) or another name.
    on_the_fly : bool
        Table 9's on-the-fly augmentation instead of synthesized faces.
    fine_tune : (int, str) or None
        (table, row label) of a row whose trained network this one starts from (Table 3's
        fine-tuned AffWildNet: Table 2's baseline, fine-tuned on RECOLA).
    """

    label: str
    network: str | None = None
    role: str = ""
    on_the_fly: bool = False
    fine_tune: tuple[int, str] | None = None

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "_", self.label.lower()).strip("_")


@dataclass(frozen=True)
class TableSpec:
    """A table of Sec. 6.2: database, task, its rows, the criteria it prints and its folds."""

    number: int
    database: str
    task: str
    title: str
    rows: tuple[Row, ...]
    criteria: tuple[str, ...]
    folds: int | None = None  # person-independent cross-validation (Tables 5 and 9)
    video_level: bool = False  # Table 8 scores videos, not frames
    gans: tuple[str, ...] = field(default_factory=tuple)

    @property
    def kind(self) -> str:
        """The kind of synthesized faces added: VA targets or the six basic expressions."""
        return "va" if self.task == "va" else "expression"


def _gan_rows(prefix: str) -> tuple[str, ...]:
    return (f"{prefix} trained using StarGAN", f"{prefix} trained using Ganimation")


def gan_rows(spec: TableSpec) -> tuple[Row, ...]:
    """The StarGAN and GANimation rows of a table: the proposed row's network, each GAN's faces added."""
    proposed = next((r for r in spec.rows if r.role == PROPOSED), None)
    if proposed is None:
        return ()
    return tuple(Row(label, proposed.network, role) for label, role in zip(spec.gans, GAN_ROLES))


#: The tables of Sec. 6.2 and what the kit runs of each.
TABLES: dict[int, TableSpec] = {
    2: TableSpec(
        2,
        "affwild",
        "va",
        "Aff-Wild: VGG-FACE-GRU without and with the synthesized faces (Sec. 6.2.1.2)",
        (
            Row("FATAUVA-Net [13]"),
            Row("AffWildNet [29,30]", "vggface_gru", BASELINE),
            Row("VGG-FACE-GRU trained using the proposed approach", "vggface_gru", PROPOSED),
        ),
        ("ccc", "mse"),
        gans=_gan_rows("VGG-FACE-GRU"),
    ),
    3: TableSpec(
        3,
        "recola",
        "va",
        "RECOLA: ResNet-GRU without and with the synthesized faces (Sec. 6.2.1.2)",
        (
            Row("ResNet-GRU [30]", "resnet_gru", BASELINE),
            Row("fine-tuned AffWildNet [30]", "vggface_gru", "fine-tuned", fine_tune=(2, "AffWildNet [29,30]")),
            Row("ResNet-GRU trained using the proposed approach", "resnet_gru", PROPOSED),
        ),
        ("ccc",),
        gans=_gan_rows("ResNet-GRU"),
    ),
    4: TableSpec(
        4,
        "affectnet",
        "va",
        "AffectNet: VGG-FACE without and with the synthesized faces (Sec. 6.2.1.2)",
        (
            Row("AlexNet [42]", "alexnet", "alexnet"),
            Row("the VGG-FACE baseline", "vggface", BASELINE),
            Row("VGG-FACE trained using the proposed approach", "vggface", PROPOSED),
        ),
        ("ccc", "pcc", "sagr", "mse"),
        gans=_gan_rows("VGG-FACE"),
    ),
    5: TableSpec(
        5,
        "afew_va",
        "va",
        "AFEW-VA: VGG-FACE-GRU, 5-fold person-independent CV (Sec. 6.2.1.2)",
        (
            Row("best of [31]"),
            Row("the VGG-FACE-GRU baseline", "vggface_gru", BASELINE),
            Row("VGG-FACE-GRU trained using the proposed approach", "vggface_gru", PROPOSED),
        ),
        ("pcc", "mse"),
        folds=5,
        gans=_gan_rows("VGG-FACE"),
    ),
    6: TableSpec(
        6,
        "rafdb",
        "expression",
        "RAF-DB: VGG-FACE without and with the synthesized faces (Sec. 6.2.2.2)",
        (
            Row("LDA-VGG-FACE [35]"),
            Row("mSVM-VGG-FACE [35]"),
            Row("the VGG-FACE baseline", "vggface", BASELINE),
            Row("mSVM-DLP-CNN [35]"),
            Row("VGG-FACE trained using the proposed approach", "vggface", PROPOSED),
        ),
        ("diagonal",),
    ),
    7: TableSpec(
        7,
        "affectnet",
        "expression",
        "AffectNet: 8 expressions, VGG-FACE without and with the synthesized faces (Sec. 6.2.2.2)",
        (
            Row("AlexNet [42]", "alexnet", "alexnet"),
            Row("the VGG-FACE baseline", "vggface", BASELINE),
            Row("VGG-FACE trained using the proposed approach", "vggface", PROPOSED),
        ),
        ("accuracy", "f1"),
    ),
    8: TableSpec(
        8,
        "afew",
        "expression",
        "AFEW: video-level accuracy, VGG-FACE without and with the synthesized faces (Sec. 6.2.2.2)",
        (
            Row("the VGG-FACE baseline", "vggface", BASELINE),
            Row("VGG-FACE-external [65]"),
            Row("VGG-FACE-FER [28]"),
            Row("VGG-FACE-LSTM-external-augmentation [65]"),
            Row("VGG-FACE trained using the proposed approach", "vggface", PROPOSED),
        ),
        ("accuracy",),
        video_level=True,
    ),
    9: TableSpec(
        9,
        "bu3dfe",
        "expression",
        "BU-3DFE: VGG-FACE (frozen convolutions, FC 256/128), 10-fold person-independent CV (Sec. 6.2.2.2)",
        (
            Row("the VGG-FACE baseline", "vggface_bu3dfe", BASELINE),
            Row("VGG-FACE-augmentation", "vggface_bu3dfe", "on-the-fly", on_the_fly=True),
            Row("VGG-FACE trained using the proposed approach", "vggface_bu3dfe", PROPOSED),
        ),
        ("accuracy",),
        folds=10,
    ),
}


# --- criteria ---------------------------------------------------------------------------------

_VA_NAMES = {"ccc": "CCC", "pcc": "PCC", "sagr": "SAGR", "mse": "MSE"}
_VA_METRICS = {"ccc": metrics.ccc, "pcc": metrics.pcc, "sagr": metrics.sagr, "mse": metrics.mse}
_TABLE6_CLASSES = {
    "anger": "anger",
    "disgust": "disgust",
    "fear": "fear",
    "happiness": "happy",
    "sadness": "sad",
    "surprise": "surprise",
    "neutral": "neutral",
}


def _criteria(spec: TableSpec, classes: list[str]) -> Callable[[pd.DataFrame], dict[tuple[str, str], float]]:
    """Predictions -> the table's cells, keyed like the paper's columns (averaged over folds).

    The criterion is called once per bootstrap resample, so it reads the few columns it needs
    as arrays once and scores each fold on array slices.
    """
    names = ("valence", "arousal", "valence_pred", "arousal_pred") if spec.task == "va" else ("label", "label_pred")

    def per_fold(columns: dict[str, np.ndarray]) -> dict[tuple[str, str], float]:
        if spec.task == "va":
            return {
                (_VA_NAMES[c], d): _VA_METRICS[c](columns[d], columns[f"{d}_pred"])
                for c in spec.criteria
                for d in ("valence", "arousal")
            }
        truth, predicted = columns["label"], columns["label_pred"]
        if spec.criteria == ("diagonal",):
            matrix = metrics.confusion_matrix(truth, predicted, labels=classes, normalize="true")
            cells = {(_TABLE6_CLASSES.get(c, c), ""): float(matrix[i, i]) for i, c in enumerate(classes)}
            cells[("average", "")] = metrics.confusion_mean_diagonal(truth, predicted, labels=classes)
            return cells
        cells = {("accuracy", ""): metrics.accuracy(truth, predicted)}
        if "f1" in spec.criteria:
            cells[("F1", "")] = metrics.f1_macro(truth, predicted, labels=classes)
        return cells

    def criterion(predictions: pd.DataFrame) -> dict[tuple[str, str], float]:
        columns = {name: predictions[name].to_numpy() for name in names}
        fold = predictions["fold"].to_numpy() if "fold" in predictions else np.zeros(len(predictions))
        keys = np.unique(fold)
        if len(keys) < 2:
            return per_fold(columns)
        folds = [
            per_fold({name: values[fold == k] for name, values in columns.items()}) for k in keys
        ]  # the paper averages folds
        return {key: float(np.mean([f[key] for f in folds if key in f])) for key in folds[0]}

    return criterion


def video_predictions(predictions: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """Frame predictions -> one per video (Table 8): the most frequent frame label.

    The paper does not say how its frame predictions became a video's; a majority vote over
    the frames is the simplest rule that needs only the saved labels (ties: the earlier class
    in ``classes``).
    """
    order = {c: i for i, c in enumerate(classes)}
    rows = []
    for video, frames in predictions.groupby("video", sort=True):
        counts = frames["label_pred"].value_counts()
        best = min(counts[counts == counts.max()].index, key=lambda c: order.get(c, len(order)))
        rows.append(
            {
                "id": video,
                "subject": frames["subject"].iloc[0],
                "video": video,
                "label": frames["label"].mode().iloc[0],
                "label_pred": best,
                **({"fold": frames["fold"].iloc[0]} if "fold" in frames else {}),
            }
        )
    return pd.DataFrame(rows)


# --- running the rows ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RunResult:
    """A re-run row's predictions (all folds) and where they are saved."""

    row: Row
    predictions: pd.DataFrame
    files: tuple[Path, ...]
    pretrained: str


def _run_dirs(ctx: RunContext, spec: TableSpec, row: Row, folds: int | None = None) -> list[tuple[Path, int | None]]:
    base = ctx.out_dir / "results" / "runs" / f"table_{spec.number:02d}" / row.slug
    if spec.folds is None:
        return [(base, None)]
    count = _fold_count(ctx, spec)
    return [(base / f"fold{k}", k) for k in range(count if folds is None else min(folds, count))]


def _fold_count(ctx: RunContext, spec: TableSpec) -> int:
    from affect import datasets
    from affect.learning.runs import fold_count

    return fold_count(spec.database, datasets.load(spec.database, _database_root(ctx, spec), "all"))


def run_table(
    spec: TableSpec,
    ctx: RunContext,
    *,
    gallery_source: str = "proxy",
    device: str = "cpu",
    weights: str | None = None,
    progress: bool = False,
    gans: bool = True,
    folds: int | None = None,
) -> dict[str, RunResult]:
    """Train and evaluate every row of ``spec`` the kit runs; reuse what is already saved.

    With ``gans`` the StarGAN and GANimation rows (:func:`gan_rows`) are run too, each GAN
    trained on the run's gallery first if it has not been. ``folds``: of a cross-validated
    table, only the first ``folds`` folds (None: all).

    A row whose ``predictions.csv`` exists (from this or an earlier run with the same output
    folder) is not trained again, so an interrupted notebook resumes; with
    ``ctx.reuse_results`` nothing is trained and a missing prediction file is an error.

    Returns
    -------
    dict of row label -> RunResult.
    """
    from affect.experiments.augmented_sets import augmented_set, fold_manifest
    from affect.learning import evaluation, runs

    if ctx.data_source == "proxy" and not ctx.reuse_results:
        from affect.datasets.standin import ensure_proxy

        ensure_proxy(spec.database, _database_root(ctx, spec).parent, ctx.profile, ctx.seed)
    rows = (*spec.rows, *(gan_rows(spec) if gans else ()))
    augmented = {}
    if not ctx.reuse_results:
        for role in dict.fromkeys(r.role for r in rows if r.role in (PROPOSED, *GAN_ROLES)):
            augmented[role] = augmented_set(
                spec.database,
                spec.kind,
                profile=ctx.profile,
                data_source=ctx.data_source,
                gallery_source=gallery_source,
                seed=ctx.seed,
                progress=progress,
                method="proposed" if role == PROPOSED else role,
                device=device,
            )
    results = {}
    for row in (r for r in rows if r.network is not None):
        parts, files, pretrained = [], [], "from scratch"
        for run_dir, fold in _run_dirs(ctx, spec, row, folds):
            predictions = run_dir / evaluation.PREDICTIONS
            if not predictions.exists():
                if ctx.reuse_results:
                    raise FileNotFoundError(f"{predictions}: not saved; run the notebook without reuse_results first")
                extra = None
                if row.role in augmented:
                    extra = augmented[row.role].folder
                    if fold is not None:
                        root = _database_root(ctx, spec)
                        split = runs.database_splits(spec.database, root, seed=ctx.seed, fold=fold)
                        extra = fold_manifest(augmented[row.role], split["train"], split["test"], fold)
                initial = None if row.fine_tune is None else _checkpoint_of(*row.fine_tune, ctx, device, weights)
                runs.train(
                    row.network,
                    spec.database,
                    run_dir,
                    profile=ctx.profile,
                    data_source=ctx.data_source,
                    task=spec.task,
                    seed=ctx.seed,
                    device=device,
                    weights=None if initial else weights,
                    augmented=extra,
                    fold=fold,
                    augment=row.on_the_fly,
                    progress=progress,
                    initial=initial,
                    weighted_loss=spec.task == "expression",
                )
                runs.evaluate_run(run_dir, device=device, n_bootstrap=100)  # the table bootstraps again
            parts.append(pd.read_csv(predictions, keep_default_na=False, na_values=[""]))
            files.append(predictions)
            pretrained = runs.read_run(run_dir).pretrained
        results[row.label] = RunResult(row, pd.concat(parts, ignore_index=True), tuple(files), pretrained)
    return results


def _checkpoint_of(number: int, label: str, ctx: RunContext, device: str, weights: str | None) -> Path:
    """The best checkpoint of another table's row, trained first if this run has none yet."""
    from affect.learning import training

    spec = TABLES[number]
    row = next(r for r in spec.rows if r.label == label)
    [(run_dir, _)] = _run_dirs(ctx, spec, row)
    best = run_dir / training.CHECKPOINTS / "best.ckpt"
    if not (run_dir / "predictions.csv").exists():
        run_table(
            TableSpec(spec.number, spec.database, spec.task, spec.title, (row,), spec.criteria),
            ctx,
            device=device,
            weights=weights,
        )
    return best


def _database_root(ctx: RunContext, spec: TableSpec) -> Path:
    from affect import data_paths

    return data_paths.database_root(spec.database, ctx.data_source, ctx.profile)


# --- the table ------------------------------------------------------------------------------------


def _classes(results: dict[str, RunResult]) -> list[str]:
    from affect.datasets.common import EXPRESSIONS

    seen = set()
    for result in results.values():
        if "label" in result.predictions:
            seen |= set(result.predictions["label"]) | set(result.predictions["label_pred"])
    return [name for name in EXPRESSIONS if name in seen]


def _scored(spec: TableSpec, predictions: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    return video_predictions(predictions, classes) if spec.video_level else predictions


def table_frame(
    spec: TableSpec,
    results: dict[str, RunResult],
    *,
    n_bootstrap: int = 1000,
    seed: int = 0,
    reports_dir: Path | None = None,
) -> pd.DataFrame:
    """This run's rows of a table: each cell's value and 95 % interval, from the predictions.

    Returns
    -------
    DataFrame indexed by the paper's row labels (every row of the paper's table), with one
    column per cell (``CCC valence``, ...) and its ``low`` / ``high`` interval, plus
    ``status`` (re-run, paper's number not re-run, not run yet) and ``predictions`` (the
    files, relative to ``reports_dir``).
    """
    from affect.learning.evaluation import bootstrap

    classes = _classes(results)
    criterion = _criteria(spec, classes)
    records = {}
    for row in (*spec.rows, *gan_rows(spec)):
        if row.label not in results:
            records[row.label] = {"status": NOT_RUN_YET if row.label in spec.gans else NOT_RERUN}
            continue
        result = results[row.label]
        scored = bootstrap(_scored(spec, result.predictions, classes), criterion, n=n_bootstrap, seed=seed)
        record = {"status": "re-run", "pretrained": result.pretrained}
        for (column, sub), cell in scored.iterrows():
            name = f"{column} {sub}".strip()
            record[name], record[f"{name} low"], record[f"{name} high"] = cell["value"], cell["low"], cell["high"]
        record["bootstrap unit"] = scored["unit"].iloc[0]
        files = [str(f.relative_to(reports_dir)) if reports_dir else str(f) for f in result.files]
        record["predictions"] = ";".join(files)
        records[row.label] = record
    order = list(paper.table(spec.number).index) + [
        r.label for r in spec.rows if r.label not in set(paper.table(spec.number).index)
    ]
    frame = pd.DataFrame.from_dict(records, orient="index").reindex(order)
    frame.index.name = "network"
    return frame


def value_columns(frame: pd.DataFrame) -> list[str]:
    """The cells of a :func:`table_frame` (not their intervals or bookkeeping)."""
    skip = {"status", "pretrained", "predictions", "bootstrap unit"}
    return [c for c in frame.columns if c not in skip and not c.endswith((" low", " high"))]


# --- the paper's claim ----------------------------------------------------------------------------


def paired_claim(
    spec: TableSpec,
    better: RunResult,
    worse: RunResult,
    *,
    n_bootstrap: int = 1000,
    seed: int = 0,
    summary: Callable[[dict], dict] | None = None,
) -> pd.DataFrame:
    """The difference ``better - worse`` of every cell, with a paired 95 % bootstrap interval.

    Both networks are scored on the same test set; resampling its subjects (or videos) once
    for both keeps the pairing, so the interval is that of the difference itself. For MSE a
    lower value is better, so the improvement is ``worse - better`` there. ``summary`` maps
    the cells of one network to the cells compared instead (e.g. the mean CCC of valence and
    arousal, Fig. 20), applied inside every resample.

    Returns
    -------
    DataFrame indexed by cell: ``improvement``, ``low``, ``high``, ``holds`` (improvement > 0)
    and ``clear`` (the whole interval above 0).
    """
    from affect.learning.evaluation import bootstrap, bootstrap_unit

    classes = _classes({"a": better, "b": worse})
    criterion = _criteria(spec, classes)
    a, b = _scored(spec, better.predictions, classes), _scored(spec, worse.predictions, classes)
    key = [c for c in ("fold", "id") if c in a.columns]
    joined = a.merge(b, on=key, suffixes=("", "_other"))
    other = {c: f"{c}_other" for c in a.columns if c not in key}
    unit = bootstrap_unit(a)

    def difference(rows: pd.DataFrame) -> dict:
        first = criterion(rows)  # the first network's columns keep their names in ``joined``
        second = criterion(
            pd.DataFrame({**{k: rows[k].to_numpy() for k in key}, **{k: rows[v].to_numpy() for k, v in other.items()}})
        )
        if summary is not None:
            first, second = summary(first), summary(second)
        return {k: (second[k] - first[k]) if k[0] == "MSE" else (first[k] - second[k]) for k in first}

    table = bootstrap(joined, difference, unit=unit, n=n_bootstrap, seed=seed)
    table.index = [f"{c} {s}".strip() for c, s in table.index]
    table = table.rename(columns={"value": "improvement"})
    table["holds"] = table["improvement"] > 0
    table["clear"] = table["low"] > 0
    return table[["improvement", "low", "high", "holds", "clear", "unit", "n_units"]]


def _verdict(better: bool, clear: bool) -> str:
    """A claim holds when every improvement's interval lies above 0; better point estimates alone
    are said as such."""
    return "holds" if better and clear else "holds on the point estimates only" if better else "does not hold"


def claim_sentence(spec: TableSpec, claim: pd.DataFrame, versus: str) -> str:
    """The paper's claim for a table, stated as holding or not on this run, with intervals."""
    clear_all = bool(claim["clear"].all())
    verdict = _verdict(bool(claim["holds"].all()), clear_all)
    clear = (
        "every interval of the improvement lies above 0"
        if clear_all
        else f"{int((~claim['clear']).sum())} of {len(claim)} intervals of the improvement include 0 or less"
    )
    cells = "; ".join(
        f"{name} {row.improvement:+.3f} [{row.low:+.3f}, {row.high:+.3f}]" for name, row in claim.iterrows()
    )
    return (
        f"Paper's claim (Table {spec.number}): the proposed network beats {versus} on every criterion. "
        f"On this run it {verdict} ({clear}; improvement, 95 % paired bootstrap interval over test "
        f"{claim['unit'].iloc[0]}s: {cells})."
    )


# --- writing the table ------------------------------------------------------------------------------


def _cell(value: float, low: float, high: float) -> str:
    return "" if pd.isna(value) else f"{value:.3f} [{low:.3f}, {high:.3f}]"


def write_affect_table(
    spec: TableSpec, frame: pd.DataFrame, ctx: RunContext, *, setting: str, notes: list[str]
) -> Path:
    """Write ``tables/table_NN.md`` and ``.csv``: this run's cells with intervals beside the paper's.

    ``setting`` names the gallery source, the network sizes and whether weights were
    pretrained; it goes into the title with the data source and profile. The CSV has one row
    per network, one column per cell with its ``low`` / ``high`` bounds, the paper's value of
    each cell (``paper <cell>``), the row's status and its prediction files.
    """
    from affect.files import atomic_write_text
    from affect.reporting import STAND_IN_NOTICE, flat_columns, markdown_table

    theirs = flat_columns(paper.table(spec.number))
    cells = list(dict.fromkeys([*theirs.columns, *value_columns(frame)]))
    csv = frame.copy()
    for column in theirs.columns:
        csv[f"paper {column}"] = theirs[column].reindex(csv.index)
    stem = f"table_{spec.number:02d}"
    atomic_write_text(ctx.path("tables", f"{stem}.csv"), csv.to_csv())
    shown = pd.DataFrame(index=frame.index)
    for column in cells:
        if column in frame:
            shown[f"{column}: this run"] = [
                _cell(*v) for v in frame[[column, f"{column} low", f"{column} high"]].to_numpy(dtype=float)
            ]
        shown[f"{column}: paper"] = theirs[column].reindex(frame.index) if column in theirs else np.nan
    shown["this run"] = frame["status"].fillna("")
    text = [
        f"### Table {spec.number}: {ctx.title(spec.title)} [{setting}]",
        "",
        markdown_table(shown),
        "",
        f"This run ({ctx.label}): value [95 % bootstrap interval]; the paper's printed numbers beside them.",
    ]
    if ctx.data_source == "proxy":
        text += [STAND_IN_NOTICE]
    text += [""] + [n for n in notes if n]
    md = ctx.path("tables", f"{stem}.md")
    atomic_write_text(md, "\n".join(text) + "\n")
    return md


# --- one call per notebook ------------------------------------------------------------------------


def _setting(ctx: RunContext, gallery_source: str, results: dict[str, RunResult]) -> str:
    from affect import profiles

    sizes = profiles.get(ctx.profile).training
    pretrained = sorted({r.pretrained for r in results.values()}) or ["from scratch"]
    return (
        f"gallery: {gallery_source}; input {sizes.input_size} px (sequences {sizes.sequence_input_size} px), "
        f"width x{sizes.width:g}; weights: {', '.join(pretrained)}"
    )


def _claims(spec: TableSpec, results: dict[str, RunResult], seed: int, n_bootstrap: int = 1000) -> pd.DataFrame:
    proposed = next((r for r in results.values() if r.row.role == PROPOSED), None)
    others = [r for r in results.values() if r.row.role in (BASELINE, "on-the-fly", *GAN_ROLES)]
    parts = {
        other.row.label: paired_claim(spec, proposed, other, n_bootstrap=n_bootstrap, seed=seed)
        for other in others
        if proposed
    }
    if not parts:
        return pd.DataFrame()
    frame = pd.concat(parts, names=["versus", "cell"])
    return frame


def gan_claim_sentence(spec: TableSpec, claims: pd.DataFrame) -> str:
    """The paper's claim that the proposed network beats both GAN rows, stated as holding or not."""
    versus = [label for label in spec.gans if len(claims) and label in claims.index.get_level_values(0)]
    if not spec.gans or len(versus) < len(spec.gans):
        return ""  # a table without GAN rows, or a run without them
    parts = [
        f"{label}: better on {int(claims.loc[label, 'holds'].sum())} of {len(claims.loc[label])} cells, "
        f"{int(claims.loc[label, 'clear'].sum())} with the interval above 0"
        for label in versus
    ]
    verdict = _verdict(
        all(claims.loc[label, "holds"].all() for label in versus),
        all(claims.loc[label, "clear"].all() for label in versus),
    )
    return (
        f"Paper's claim (Table {spec.number}): the proposed network beats both GAN-augmented networks "
        f"(StarGAN and GANimation) on every criterion. On this run it {verdict} ({'; '.join(parts)})."
    )


def table_report(
    spec: TableSpec,
    ctx: RunContext,
    *,
    gallery_source: str = "proxy",
    device: str = "cpu",
    weights: str | None = None,
    progress: bool = False,
    gans: bool = True,
) -> tuple[dict[str, RunResult], pd.DataFrame, pd.DataFrame]:
    """Run a table's rows (or reuse them), score them and write the table beside the paper's.

    ``gans``: run the StarGAN and GANimation rows too (:func:`gan_rows`).

    Returns
    -------
    (the re-run rows' results, the table as :func:`table_frame`, the paired claims).
    """
    from affect import profiles, reporting
    from affect.experiments.augmented_sets import augmented_set

    results = run_table(
        spec, ctx, gallery_source=gallery_source, device=device, weights=weights, progress=progress, gans=gans
    )
    if spec.number == 6:
        baseline = next(r for r in results.values() if r.row.role == BASELINE)
        results.update(feature_classifier_rows(spec, ctx, baseline, device=device))
    key = f"table_{spec.number:02d}"
    n = profiles.get(ctx.profile).bootstrap_resamples
    frame = reporting.cached(
        ctx, key, lambda: table_frame(spec, results, n_bootstrap=n, seed=ctx.seed, reports_dir=ctx.out_dir)
    )
    claims = reporting.cached(ctx, f"{key}_claims", lambda: _claims(spec, results, ctx.seed, n))

    def notes() -> dict:
        built = augmented_set(
            spec.database,
            spec.kind,
            profile=ctx.profile,
            data_source=ctx.data_source,
            gallery_source=gallery_source,
            seed=ctx.seed,
        )
        lines = [built.note()]
        if spec.video_level:
            lines.append(
                "A video's prediction is the most frequent label of its frames (the paper does not "
                "say how it pooled frames)."
            )
        if spec.folds:
            lines.append(
                f"Scores are the mean over the person-independent folds (up to {spec.folds}); each "
                "fold trains only on faces synthesized from its own training subjects."
            )
        if any(r.row.role in GAN_ROLES for r in results.values()):
            from affect.experiments.gan_baselines import gan_table_notes

            lines += gan_table_notes(spec, ctx, gallery_source, gan_rows(spec))
        return {"lines": lines, "setting": _setting(ctx, gallery_source, results)}

    saved = reporting.cached(ctx, f"{key}_notes", notes)
    sentences = (
        [
            claim_sentence(spec, claims.loc[versus], f"'{versus}'")
            for versus in dict.fromkeys(claims.index.get_level_values(0))
        ]
        if len(claims)
        else []
    )
    sentences.append(gan_claim_sentence(spec, claims))
    write_affect_table(spec, frame, ctx, setting=saved["setting"], notes=saved["lines"] + sentences)
    return results, frame, claims


# --- what the figures draw -----------------------------------------------------------------------


def table_classes(results: dict[str, RunResult]) -> list[str]:
    """The expression classes of a table's predictions, in the datasets' order."""
    return _classes(results)


def figure_predictions(spec: TableSpec, results: dict[str, RunResult]) -> dict[str, pd.DataFrame]:
    """Baseline then proposed predictions for a table's figure, named as in the paper's captions."""
    chosen = {}
    for role, name in ((BASELINE, "baseline"), (PROPOSED, "proposed approach")):
        result = next((r for r in results.values() if r.row.role == role), None)
        if result is not None:
            chosen[f"{name}: {result.row.network}"] = _scored(spec, result.predictions, _classes(results))
    return chosen


def training_annotations(spec: TableSpec, ctx: RunContext) -> pd.DataFrame:
    """The VA annotations of a table's training set (Fig. 15), cached with the run's results."""
    from affect import datasets, reporting

    def load() -> pd.DataFrame:
        frame = datasets.load(spec.database, _database_root(ctx, spec), "train")
        return frame[["valence", "arousal"]].dropna().reset_index(drop=True)

    return reporting.cached(ctx, f"table_{spec.number:02d}_training_va", load)


# --- Table 6: classifiers on the baseline's penultimate features --------------------------------

#: Table 6's rows that re-classify the VGG-FACE baseline's features (ref. [35]): LDA and a linear
#: multi-class SVM, fitted on the training faces' features and scored on the test faces'.
FEATURE_ROWS = {"LDA-VGG-FACE [35]": "lda", "mSVM-VGG-FACE [35]": "msvm"}


def _features(module, faces, device: str = "cpu") -> np.ndarray:
    """(N, F) penultimate features of a frame network, in the order of ``faces.index``."""
    import torch

    from affect.learning.training import make_loader

    hp = module.hparams
    loader = make_loader(faces, hp.network, hp.task, hp.classes, module.sizes, train=False)
    module = module.to(device).eval()
    rows, features = [], []
    with torch.no_grad():
        for batch in loader:
            features.append(module.network.backbone(batch["image"].to(device)).float().cpu())
            rows.append(batch["row"].reshape(-1))
    order = np.argsort(torch.cat(rows).numpy(), kind="stable")
    return torch.cat(features).numpy()[order]


def feature_classifier_rows(
    spec: TableSpec, ctx: RunContext, baseline: RunResult, *, device: str = "cpu"
) -> dict[str, RunResult]:
    """LDA-VGG-FACE and mSVM-VGG-FACE (Table 6): scikit-learn on the baseline's features.

    The paper takes these rows from ref. [35], which classifies VGG-FACE features with LDA and
    a multi-class SVM; here the features are the trained baseline's penultimate layer, so the
    rows show what a linear classifier gets from the same network. Predictions are saved
    beside the baseline's, one folder per row.
    """
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    from affect.files import atomic_write_text
    from affect.learning import evaluation, runs, training
    from affect.learning.prepared import load_prepared

    run_dir = baseline.files[0].parent
    results = {}
    for label, kind in FEATURE_ROWS.items():
        out = run_dir.parent / Row(label).slug / evaluation.PREDICTIONS
        if not out.exists():
            if ctx.reuse_results:
                raise FileNotFoundError(f"{out}: not saved; run the notebook without reuse_results first")
            run = runs.read_run(run_dir)
            module = training.load_module(run_dir / training.CHECKPOINTS / "best.ckpt")
            train, test = load_prepared(run.prepared["train"]), load_prepared(run.prepared["test"])
            labels = train.index["expression"].to_numpy()
            known = pd.Series(labels).isin(run.classes).to_numpy()
            features = _features(module, train, device)[known]
            # LDA's shrinkage keeps the within-class scatter invertible when features outnumber images.
            model = (
                LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")
                if kind == "lda"
                else make_pipeline(StandardScaler(), LinearSVC(C=1.0, random_state=ctx.seed))
            )
            model.fit(features, labels[known])
            predicted = model.predict(_features(module, test, device))
            predictions = evaluation.predict(module, test, device=device)  # the rows and labels scored
            predictions["label_pred"] = predicted[test.index["expression"].isin(run.classes).to_numpy()]
            atomic_write_text(out, predictions.to_csv(index=False))
        predictions = pd.read_csv(out, keep_default_na=False, na_values=[""])
        results[label] = RunResult(Row(label, baseline.row.network, kind), predictions, (out,), baseline.pretrained)
    return results
