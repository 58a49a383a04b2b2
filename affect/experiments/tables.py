"""The steps every results table of Sec. 6 shares: runs' predictions -> cells -> claims -> table file.

Tables 2 to 14 are all made the same way. Each trained (or reused) run leaves a prediction
file (:func:`read_predictions`); its cells (CCC, MSE, accuracy, ...: :func:`criteria`) are
scored with a 95 % bootstrap interval over test subjects or videos (:func:`score_intervals`,
flattened into a table row by :func:`interval_columns`); two runs on the same test set are
compared with a paired interval (:func:`paired_claim`) and the paper's claim is stated as
holding or not (:func:`verdict`); the table is then written beside the paper's numbers, with
its notes (:func:`write_table`). What a table is (:class:`TableSpec`, its rows, :class:`Row`) and a
run's predictions (:class:`RunResult`) are defined here too, for every table module to share.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from affect import metrics
from affect.files import relative_path
from affect.reporting import PROXY_NOTICE
from affect.run import Run

__all__ = [
    "Row",
    "TableSpec",
    "RunResult",
    "not_run",
    "fold_count",
    "read_predictions",
    "not_saved",
    "prediction_files",
    "run_setting",
    "width_setting",
    "weights_setting",
    "table_classes",
    "video_predictions",
    "scored_predictions",
    "criteria",
    "score_intervals",
    "interval_columns",
    "paired_claim",
    "verdict",
    "interval_cells",
    "count_cell",
    "write_report",
    "write_table",
]

# --- what a table is --------------------------------------------------------------------------

PROPOSED = "proposed"
BASELINE = "baseline"
NOT_RERUN = "paper's number, not re-run"
NOT_RUN_YET = "not run yet (GAN baselines)"


def not_run(reason: str) -> str:
    """The status of a row the kit runs but this run left out, saying why: ``not run: <reason>``."""
    return f"not run: {reason}"


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
    landmarks : bool
        The network takes each frame's 68 landmarks beside its crop (AffWildNet, Sec. 6.2.1.2).
    pretrain : str or None
        A database (:data:`affect.datasets.PRETRAINING_NAMES`) the network is first trained on,
        its best checkpoint the start of this row's training (Table 8's VGG-FACE-FER: FER2013).
    """

    label: str
    network: str | None = None
    role: str = ""
    on_the_fly: bool = False
    fine_tune: tuple[int, str] | None = None
    landmarks: bool = False
    pretrain: str | None = None

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


@dataclass(frozen=True)
class RunResult:
    """A re-run row's predictions (all folds) and where they are saved."""

    row: Row
    predictions: pd.DataFrame
    files: tuple[Path, ...]
    pretrained: str


# --- the runs -----------------------------------------------------------------------------------


def fold_count(run: Run, database: str) -> int:
    """The person-independent folds of a cross-validated database (Tables 5 and 9) in this run."""
    from affect import datasets
    from affect.learning import runs

    return runs.fold_count(database, datasets.load(database, run.database_root(database), "all"))


def read_predictions(path: Path) -> pd.DataFrame:
    """A saved ``predictions.csv``: only empty fields read as missing (a label such as 'NA' stays text)."""
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def not_saved(path: Path) -> FileNotFoundError:
    """The error for a prediction file that a ``reuse_results`` run needs and does not find."""
    return FileNotFoundError(f"{path}: not saved; run the notebook without reuse_results first")


def move_aside_if_stale(run_dir: Path, run: Run, network: str | None) -> None:
    """Move a saved run to ``<run_dir>.previous`` when it was made with another data source,
    profile or seed than ``run``, or (given ``network``) other weights than ``run`` gives that
    network, so that it trains again: a run reuses the predictions it finds, and must not reuse
    another setting's."""
    import shutil

    from affect.learning import pretrained, runs

    if not (run_dir / runs.RUN_FILE).is_file():
        return
    saved = runs.read_run(run_dir)
    compared = [
        ("data source", saved.data_source, run.data_source),
        ("profile", saved.profile, run.profile.name),
        ("seed", saved.seed, run.seed),
    ]
    differs = [f"{name} {old!r}, now {new!r}" for name, old, new in compared if old != new]
    if network is not None:
        expected = pretrained.label_start(network, run.weights.source(network))
        if not saved.pretrained.startswith(expected):
            differs.append(f"weights {saved.pretrained!r}, now {expected.removesuffix(' (')!r}")
    if differs:
        previous = run_dir.with_name(f"{run_dir.name}.previous")
        shutil.rmtree(previous, ignore_errors=True)
        run_dir.rename(previous)
        print(f"{run_dir}: saved with {'; '.join(differs)}: moved to {previous.name}, training again")


def prediction_files(result: RunResult, reports_dir: Path | None) -> str:
    """A run's prediction files, relative to ``reports_dir`` (None: as they are), joined by ';'."""
    return ";".join(relative_path(f, reports_dir) if reports_dir else str(f) for f in result.files)


def run_setting(run: Run, results: dict[str, RunResult]) -> str:
    """A table title's setting: the gallery source, the network sizes and each network's weights."""
    sizes = run.profile.training
    return (
        f"gallery: {run.gallery_source}; input {sizes.input_size} px (sequences {sizes.sequence_input_size} px), "
        f"{width_setting(run, results)}; {weights_setting(results)}"
    )


def width_setting(run: Run, results: dict[str, RunResult]) -> str:
    """The networks' width: the profile's, and the published one of the networks that the run
    gives pretrained weights (:func:`affect.learning.pretrained.network_width`).

    E.g. ``'width x0.25 (VGG-FACE: x1, pretrained)'``.
    """
    from affect.learning.networks import PAPER_NAMES
    from affect.learning.pretrained import PUBLISHED_WIDTH, network_width

    width = run.profile.training.width
    networks = dict.fromkeys(result.row.network for result in results.values())
    published = [
        PAPER_NAMES.get(network, network)
        for network in networks
        if network_width(width, run.weights.source(network) is not None) != width
    ]
    if not published:
        return f"width x{width:g}"
    return f"width x{width:g} ({', '.join(published)}: x{PUBLISHED_WIDTH:g}, pretrained)"


def weights_setting(results: Iterable[RunResult] | dict[str, RunResult]) -> str:
    """Where each network of a table started from, as its runs recorded it.

    E.g. ``'weights: VGG-FACE-GRU: ImageNet (torchvision vgg16 IMAGENET1K_V1); ResNet-GRU: from
    scratch'``; a network whose rows started differently lists each start once.
    """
    from affect.learning.networks import PAPER_NAMES

    found: dict[str, list[str]] = {}
    for result in results.values() if isinstance(results, dict) else results:
        starts = found.setdefault(result.row.network, [])
        if result.pretrained not in starts:
            starts.append(result.pretrained)
    if not found:
        return "weights: from scratch"
    named = [f"{PAPER_NAMES.get(network, network)}: {' / '.join(starts)}" for network, starts in found.items()]
    return f"weights: {'; '.join(named)}"


# --- the cells ------------------------------------------------------------------------------------

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


def table_classes(results: dict[str, RunResult]) -> list[str]:
    """The expression classes of a table's predictions, in the datasets' order."""
    from affect.vocabulary import EXPRESSIONS

    seen = set()
    for result in results.values():
        if "label" in result.predictions:
            seen |= set(result.predictions["label"]) | set(result.predictions["label_pred"])
    return [name for name in EXPRESSIONS if name in seen]


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


def scored_predictions(spec: TableSpec, predictions: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """The rows a table scores: the predictions, or one per video where the table scores videos."""
    return video_predictions(predictions, classes) if spec.video_level else predictions


def criteria(spec: TableSpec, classes: list[str]) -> Callable[[pd.DataFrame], dict[tuple[str, str], float]]:
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


def score_intervals(
    spec: TableSpec,
    predictions: pd.DataFrame,
    classes: list[str],
    *,
    n_bootstrap: int = 1000,
    seed: int = 0,
    criterion: Callable[[pd.DataFrame], dict] | None = None,
) -> pd.DataFrame:
    """Every cell of one run with its 95 % bootstrap interval over test subjects (or videos).

    ``criterion`` maps predictions to cells (default: :func:`criteria` of ``spec``).

    Returns
    -------
    DataFrame indexed by cell: ``value``, ``low``, ``high``, ``unit``, ``n_units``
    (:func:`affect.learning.evaluation.bootstrap`).
    """
    from affect.learning.evaluation import bootstrap

    rows = scored_predictions(spec, predictions, classes)
    return bootstrap(rows, criterion or criteria(spec, classes), n=n_bootstrap, seed=seed)


def interval_columns(table: pd.DataFrame, *, prefix: str = "", value: str = "value") -> dict[str, float]:
    """A table of cells with intervals -> one table row: ``{cell: value, 'cell low': ..., 'cell high': ...}``.

    A cell keyed ``('CCC', 'valence')`` is named ``'CCC valence'`` (``('accuracy', '')``:
    ``'accuracy'``), after ``prefix`` where one is given.
    """
    record = {}
    for cell, values in table.iterrows():
        name = " ".join(p for p in ((prefix,) + (cell if isinstance(cell, tuple) else (cell,))) if p)
        record[name], record[f"{name} low"], record[f"{name} high"] = values[value], values["low"], values["high"]
    return record


# --- the claims ---------------------------------------------------------------------------------


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

    classes = table_classes({"a": better, "b": worse})
    criterion = criteria(spec, classes)
    a = scored_predictions(spec, better.predictions, classes)
    b = scored_predictions(spec, worse.predictions, classes)
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


def verdict(better: bool, clear: bool) -> str:
    """How a claim fares: it holds when every improvement's interval lies above 0; better point
    estimates alone are said as such."""
    return "holds" if better and clear else "holds on the point estimates only" if better else "does not hold"


# --- the table file -------------------------------------------------------------------------------


def interval_cells(frame: pd.DataFrame, column: str) -> list[str]:
    """``'value [low, high]'`` of a column and its bounds, row by row ('' where absent)."""
    if column not in frame:
        return [""] * len(frame)
    values = frame[[column, f"{column} low", f"{column} high"]].to_numpy(dtype=float)
    return ["" if np.isnan(v) else f"{v:.3f} [{lo:.3f}, {hi:.3f}]" for v, lo, hi in values]


def count_cell(value: float) -> str:
    """A count with thousands separators ('' where absent)."""
    return "" if pd.isna(value) else f"{int(value):,}"


def write_report(
    run: Run,
    kind: str,
    stem: str,
    *,
    heading: str,
    shown: pd.DataFrame,
    csv: pd.DataFrame,
    caption: str,
    notes: Sequence[str] = (),
    proxy_notice: str = PROXY_NOTICE,
    csv_index: bool = True,
) -> Path:
    """Write ``<kind>/<stem>.csv`` (every number) and ``.md``: heading, table, caption, notes.

    The Markdown is ``heading``, ``shown`` as a table, ``caption``, ``proxy_notice`` on stand-in
    data, then ``notes`` after a blank line. Returns the Markdown path.
    """
    from affect.files import atomic_write_text
    from affect.reporting import markdown_table

    atomic_write_text(run.path(kind, f"{stem}.csv"), csv.to_csv(index=csv_index))
    text = [heading, "", markdown_table(shown), "", caption]
    if run.data_source == "proxy":
        text += [proxy_notice]
    text += ["", *notes]
    md = run.path(kind, f"{stem}.md")
    atomic_write_text(md, "\n".join(text) + "\n")
    return md


def write_table(
    run: Run,
    number: int,
    *,
    title: str,
    setting: str,
    shown: pd.DataFrame,
    csv: pd.DataFrame,
    caption: str,
    notes: Sequence[str] = (),
    proxy_notice: str = PROXY_NOTICE,
    csv_index: bool = True,
) -> Path:
    """Write ``tables/table_NN.csv`` and ``.md`` (:func:`write_report`) under the heading
    ``### Table N: <title> [<data source and profile>] [<setting>]``."""
    return write_report(
        run,
        "tables",
        f"table_{number:02d}",
        heading=f"### Table {number}: {run.title(title)} [{setting}]",
        shown=shown,
        csv=csv,
        caption=caption,
        notes=notes,
        proxy_notice=proxy_notice,
        csv_index=csv_index,
    )
