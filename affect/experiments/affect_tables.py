"""Tables 2 to 9: each database's network trained without and with the synthesized faces (Sec. 6.2).

For every table, :data:`TABLES` names the database, the network and the rows the paper prints;
the rows the kit can run are trained with :func:`affect.learning.runs.train` under one budget
and seed and scored on the test split by :func:`affect.learning.runs.evaluate_run`, which keeps
the predictions. Every number of a table is then computed from those prediction files, with a
95 % bootstrap interval over test subjects (or videos), and set beside the paper's
(:mod:`affect.experiments.tables` holds these steps, shared with Tables 10 to 14). Expression
rows train with class-weighted cross-entropy (:func:`affect.learning.training.class_weights`),
every row of a table alike.

Rows the kit does not run keep the paper's number only ("paper's number, not re-run"). A row
with ``pretrain`` (Table 8's VGG-FACE-FER) first trains its network on that database
(:func:`pretrained_checkpoint`: FER2013's expressions) and fine-tunes the best checkpoint on the
table's database as the baseline trains; a run with real data that lacks the pretraining
database leaves the row out, its status says why (``not run: data/fer2013 missing``) and the
table's note how to obtain it (:func:`pretraining_note`). The
StarGAN and GANimation rows (:func:`gan_rows`) train the proposed row's network with the same
budget and seed on the training set plus that GAN's synthesized set (same neutral faces and VA
targets, :meth:`affect.run.Run.augmented_set` with ``method``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from affect import paper
from affect.experiments import tables
from affect.experiments.tables import (
    BASELINE,
    GAN_ROLES,
    NOT_RERUN,
    NOT_RUN_YET,
    PROPOSED,
    Row,
    RunResult,
    TableSpec,
)
from affect.run import Run

__all__ = [
    "TABLES",
    "run_table",
    "table_frame",
    "gan_rows",
    "baseline_and_proposed",
    "gan_claim_sentence",
    "frozen_note",
    "landmarks_note",
    "pretraining_note",
    "left_out_rows",
    "pretrained_checkpoint",
    "PRETRAINED",
]

#: Role of a row whose network is first trained on another database (Table 8's VGG-FACE-FER).
PRETRAINED = "pretrained"
#: The section of data/README.md that says how to obtain the pretraining database (FER2013).
PRETRAINING_SECTION = "FER2013: pretraining for Table 8's VGG-FACE-FER (`data/fer2013/`)"


def _gan_rows(prefix: str) -> tuple[str, ...]:
    return (f"{prefix} trained using StarGAN", f"{prefix} trained using Ganimation")


def gan_rows(spec: TableSpec) -> tuple[Row, ...]:
    """The StarGAN and GANimation rows of a table: the proposed row's network, each GAN's faces added."""
    proposed = next((r for r in spec.rows if r.role == PROPOSED), None)
    if proposed is None:
        return ()
    return tuple(
        Row(label, proposed.network, role, landmarks=proposed.landmarks) for label, role in zip(spec.gans, GAN_ROLES)
    )


def baseline_and_proposed(spec: TableSpec) -> TableSpec:
    """The table cut to its baseline and proposed rows, without GAN rows (Tables 12 to 14 reuse these)."""
    return replace(spec, rows=tuple(r for r in spec.rows if r.role in (BASELINE, PROPOSED)), gans=())


#: The tables of Sec. 6.2 and what the kit runs of each.
TABLES: dict[int, TableSpec] = {
    2: TableSpec(
        2,
        "affwild",
        "va",
        "Aff-Wild: VGG-FACE-GRU without and with the synthesized faces (Sec. 6.2.1.2)",
        (
            Row("FATAUVA-Net [13]"),
            Row("AffWildNet [29,30]", "vggface_gru", BASELINE, landmarks=True),
            Row("VGG-FACE-GRU trained using the proposed approach", "vggface_gru", PROPOSED, landmarks=True),
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
            Row(
                "fine-tuned AffWildNet [30]",
                "vggface_gru",
                "fine-tuned",
                fine_tune=(2, "AffWildNet [29,30]"),
                landmarks=True,
            ),
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
            Row("VGG-FACE-FER [28]", "vggface", PRETRAINED, pretrain="fer2013"),
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


# --- running the rows ---------------------------------------------------------------------------


def _run_dirs(run: Run, spec: TableSpec, row: Row, folds: int | None = None) -> list[tuple[Path, int | None]]:
    base = run.out_dir / "results" / "runs" / f"table_{spec.number:02d}" / row.slug
    if spec.folds is None:
        return [(base, None)]
    count = tables.fold_count(run, spec.database)
    return [(base / f"fold{k}", k) for k in range(count if folds is None else min(folds, count))]


def run_table(
    spec: TableSpec,
    run: Run,
    *,
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
    ``run.reuse_results`` nothing is trained and a missing prediction file is an error.

    Returns
    -------
    dict of row label -> RunResult.
    """
    from affect.augmentation.augmented_sets import fold_manifest
    from affect.learning import evaluation, runs

    if not run.reuse_results:
        run.database(spec.database)
    rows = (*spec.rows, *(gan_rows(spec) if gans else ()))
    augmented = {}
    if not run.reuse_results:
        for role in dict.fromkeys(r.role for r in rows if r.role in (PROPOSED, *GAN_ROLES)):
            augmented[role] = run.augmented_set(
                spec.database, spec.kind, "proposed" if role == PROPOSED else role, progress=progress
            )
    results = {}
    missing = missing_pretraining(spec, run)
    for row in (r for r in rows if r.network is not None and r.label not in missing):
        parts, files, pretrained = [], [], "from scratch"
        for run_dir, fold in _run_dirs(run, spec, row, folds):
            predictions = run_dir / evaluation.PREDICTIONS
            if not run.reuse_results:  # rows after a fine-tuning start from another row's checkpoint
                tables.move_aside_if_stale(run_dir, run, row.network if initial_free(row) else None)
            if not predictions.exists():
                if run.reuse_results:
                    raise tables.not_saved(predictions)
                extra = None
                if row.role in augmented:
                    extra = augmented[row.role].folder
                    if fold is not None:
                        root = run.database_root(spec.database)
                        split = runs.database_splits(spec.database, root, seed=run.seed, fold=fold)
                        extra = fold_manifest(augmented[row.role], split["train"], split["test"], fold)
                initial = None if row.fine_tune is None else _checkpoint_of(*row.fine_tune, run)
                if row.pretrain is not None:
                    initial = pretrained_checkpoint(run, row.network, row.pretrain, progress=progress)
                runs.train(
                    row.network,
                    spec.database,
                    run_dir,
                    profile=run.profile,
                    data_source=run.data_source,
                    task=spec.task,
                    seed=run.seed,
                    device=run.device,
                    weights=None if initial else run.weights.source(row.network),
                    augmented=extra,
                    fold=fold,
                    augment=row.on_the_fly,
                    progress=progress,
                    initial=initial,
                    weighted_loss=spec.task == "expression",
                    landmarks=row.landmarks,
                )
                runs.evaluate_run(run_dir, device=run.device, n_bootstrap=100)  # the table bootstraps again
            parts.append(tables.read_predictions(predictions))
            files.append(predictions)
            pretrained = runs.read_run(run_dir).pretrained
        results[row.label] = RunResult(row, pd.concat(parts, ignore_index=True), tuple(files), pretrained)
    return results


def initial_free(row: Row) -> bool:
    """Whether a row starts from the run's weights, not from another row's checkpoint."""
    return row.fine_tune is None and row.pretrain is None


def _checkpoint_of(number: int, label: str, run: Run) -> Path:
    """The best checkpoint of another table's row, trained first if this run has none yet."""
    from affect.learning import training

    spec = TABLES[number]
    row = next(r for r in spec.rows if r.label == label)
    [(run_dir, _)] = _run_dirs(run, spec, row)
    best = run_dir / training.CHECKPOINTS / "best.ckpt"
    if not run.reuse_results:
        tables.move_aside_if_stale(run_dir, run, row.network if initial_free(row) else None)
    if not (run_dir / "predictions.csv").exists():
        run_table(
            TableSpec(spec.number, spec.database, spec.task, spec.title, (row,), spec.criteria),
            run,
        )
    return best


def pretraining_dir(run: Run, network: str, database: str) -> Path:
    """The run folder of ``network`` trained on a pretraining database, shared by the rows that start from it."""
    return run.out_dir / "results" / "runs" / "pretraining" / f"{network}_{database}"


def pretrained_checkpoint(run: Run, network: str, database: str, *, progress: bool = False) -> Path:
    """The best checkpoint of ``network`` trained on ``database``'s expressions, trained first if absent.

    Table 8's VGG-FACE-FER (Sec. 6.2.2.2): VGG-FACE trained on FER2013 before AFEW. The network
    starts from the run's weights for it (:attr:`affect.run.Run.weights`), trains on FER2013's
    ``Training`` faces with class-weighted cross-entropy and keeps the epoch best on its
    ``PublicTest`` faces (:func:`affect.learning.runs.train`); its ``PrivateTest`` predictions are
    saved beside it (:func:`affect.learning.runs.evaluate_run`), which marks the run complete.
    """
    from affect.learning import evaluation, runs, training

    run_dir = pretraining_dir(run, network, database)
    if not run.reuse_results:
        tables.move_aside_if_stale(run_dir, run, network)
    if not (run_dir / evaluation.PREDICTIONS).exists():
        run.database(database)
        runs.train(
            network,
            database,
            run_dir,
            profile=run.profile,
            data_source=run.data_source,
            task="expression",
            seed=run.seed,
            device=run.device,
            weights=run.weights.source(network),
            progress=progress,
            weighted_loss=True,
        )
        runs.evaluate_run(run_dir, device=run.device, n_bootstrap=100)
    return run_dir / training.CHECKPOINTS / "best.ckpt"


def missing_pretraining(spec: TableSpec, run: Run) -> dict[str, Path]:
    """The rows of ``spec`` whose pretraining database a run with real data lacks, and its folder."""
    if run.data_source != "real":
        return {}
    folders = {row.label: run.database_root(row.pretrain) for row in spec.rows if row.pretrain is not None}
    return {label: folder for label, folder in folders.items() if not folder.is_dir()}


def left_out_rows(spec: TableSpec, run: Run) -> dict[str, str]:
    """The status of each row of ``spec`` that this run leaves out, saying why (a missing pretraining database)."""
    return {
        label: tables.not_run(f"{_data_folder_name(folder)} missing")
        for label, folder in missing_pretraining(spec, run).items()
    }


def _data_folder_name(folder: Path) -> str:
    """``data/<name>`` for a folder of the data folder (no machine path in a table's cell), else the folder."""
    from affect import data_paths

    try:
        return str(Path("data") / folder.relative_to(data_paths.data_dir()))
    except ValueError:
        return str(folder)


def pretraining_note(spec: TableSpec, run: Run, results: dict[str, RunResult]) -> str:
    """The note of a table with a pretrained row: how it was trained, or why it was not run; '' otherwise."""
    from affect.learning import evaluation
    from affect.learning.networks import PAPER_NAMES

    lines = []
    for label, folder in missing_pretraining(spec, run).items():
        lines.append(
            f"{label}: not run, {folder} not found (see data/README.md, section "
            f'"{PRETRAINING_SECTION}"); the paper\'s number is shown.'
        )
    for result in (r for r in results.values() if r.row.pretrain is not None):
        row, name = result.row, result.row.pretrain
        saved = pretraining_dir(run, row.network, name) / evaluation.PREDICTIONS
        scored = "its predictions not saved in this report folder"
        if saved.exists():
            predictions = tables.read_predictions(saved)
            accuracy = float((predictions["label"] == predictions["label_pred"]).mean())
            scored = f"its test split: {len(predictions)} face(s), accuracy {accuracy:.3f}"
        lines.append(
            f"{row.label}: {PAPER_NAMES.get(row.network, row.network)} trained on {name}'s expressions first "
            f"({scored}), then fine-tuned on "
            f"{spec.database} as the baseline trains (the paper: VGG-FACE fine-tuned on FER2013, then on AFEW [28])"
            + (f"; the {name} faces are a stand-in too." if run.data_source == "proxy" else ".")
        )
    return " ".join(lines)


# --- the table ------------------------------------------------------------------------------------


def table_frame(
    spec: TableSpec,
    results: dict[str, RunResult],
    *,
    n_bootstrap: int = 1000,
    seed: int = 0,
    reports_dir: Path | None = None,
    left_out: dict[str, str] | None = None,
) -> pd.DataFrame:
    """This run's rows of a table: each cell's value and 95 % interval, from the predictions.

    ``left_out`` gives the status of rows this run left out (:func:`left_out_rows`).

    Returns
    -------
    DataFrame indexed by the paper's row labels (every row of the paper's table), with one
    column per cell (``CCC valence``, ...) and its ``low`` / ``high`` interval, plus
    ``status`` (re-run, paper's number not re-run, not run yet, not run and why) and
    ``predictions`` (the files, relative to ``reports_dir``).
    """
    left_out = left_out or {}
    classes = tables.table_classes(results)
    records = {}
    for row in (*spec.rows, *gan_rows(spec)):
        if row.label in left_out or row.label not in results:
            default = NOT_RUN_YET if row.label in spec.gans else NOT_RERUN
            records[row.label] = {"status": left_out.get(row.label, default)}
            continue
        result = results[row.label]
        scored = tables.score_intervals(spec, result.predictions, classes, n_bootstrap=n_bootstrap, seed=seed)
        record = {"status": "re-run", "pretrained": result.pretrained, **tables.interval_columns(scored)}
        record["bootstrap unit"] = scored["unit"].iloc[0]
        record["predictions"] = tables.prediction_files(result, reports_dir)
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


def claim_sentence(spec: TableSpec, claim: pd.DataFrame, versus: str) -> str:
    """The paper's claim for a table, stated as holding or not on this run, with intervals."""
    clear_all = bool(claim["clear"].all())
    verdict = tables.verdict(bool(claim["holds"].all()), clear_all)
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


def write_affect_table(spec: TableSpec, frame: pd.DataFrame, run: Run, *, setting: str, notes: list[str]) -> Path:
    """Write ``tables/table_NN.md`` and ``.csv``: this run's cells with intervals beside the paper's.

    ``setting`` names the gallery source, the network sizes and whether weights were
    pretrained; it goes into the title with the data source and profile. The CSV has one row
    per network, one column per cell with its ``low`` / ``high`` bounds, the paper's value of
    each cell (``paper <cell>``), the row's status and its prediction files.
    """
    from affect.reporting import flat_columns

    theirs = flat_columns(paper.table(spec.number))
    cells = list(dict.fromkeys([*theirs.columns, *value_columns(frame)]))
    csv = frame.copy()
    for column in theirs.columns:
        csv[f"paper {column}"] = theirs[column].reindex(csv.index)
    shown = pd.DataFrame(index=frame.index)
    for column in cells:
        if column in frame:
            shown[f"{column}: this run"] = tables.interval_cells(frame, column)
        shown[f"{column}: paper"] = theirs[column].reindex(frame.index) if column in theirs else np.nan
    shown["this run"] = frame["status"].fillna("")
    return tables.write_table(
        run,
        spec.number,
        title=spec.title,
        setting=setting,
        shown=shown,
        csv=csv,
        caption=f"This run ({run.label}): value [95 % bootstrap interval]; the paper's printed numbers beside them.",
        notes=[n for n in notes if n],
    )


# --- one call per notebook ------------------------------------------------------------------------


def _claims(spec: TableSpec, results: dict[str, RunResult], seed: int, n_bootstrap: int = 1000) -> pd.DataFrame:
    proposed = next((r for r in results.values() if r.row.role == PROPOSED), None)
    others = [r for r in results.values() if r.row.role in (BASELINE, "on-the-fly", PRETRAINED, *GAN_ROLES)]
    parts = {
        other.row.label: tables.paired_claim(spec, proposed, other, n_bootstrap=n_bootstrap, seed=seed)
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
    verdict = tables.verdict(
        all(claims.loc[label, "holds"].all() for label in versus),
        all(claims.loc[label, "clear"].all() for label in versus),
    )
    return (
        f"Paper's claim (Table {spec.number}): the proposed network beats both GAN-augmented networks "
        f"(StarGAN and GANimation) on every criterion. On this run it {verdict} ({'; '.join(parts)})."
    )


def table_report(
    spec: TableSpec,
    run: Run,
    *,
    progress: bool = False,
    gans: bool = True,
) -> tuple[dict[str, RunResult], pd.DataFrame, pd.DataFrame]:
    """Run a table's rows (or reuse them), score them and write the table beside the paper's.

    ``gans``: run the StarGAN and GANimation rows too (:func:`gan_rows`).

    Returns
    -------
    (the re-run rows' results, the table as :func:`table_frame`, the paired claims).
    """
    from affect import reporting

    results = run_table(spec, run, progress=progress, gans=gans)
    if spec.number == 6:
        baseline = next(r for r in results.values() if r.row.role == BASELINE)
        results.update(feature_classifier_rows(spec, run, baseline))
    key = f"table_{spec.number:02d}"
    n = run.profile.bootstrap_resamples
    left_out = left_out_rows(spec, run)
    frame = reporting.cached(
        run,
        key,
        lambda: table_frame(spec, results, n_bootstrap=n, seed=run.seed, reports_dir=run.out_dir, left_out=left_out),
    )
    claims = reporting.cached(run, f"{key}_claims", lambda: _claims(spec, results, run.seed, n))

    def notes() -> dict:
        built = run.augmented_set(spec.database, spec.kind)
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

            lines += gan_table_notes(spec, run, gan_rows(spec))
        lines += [run.weights.note([r.row.network for r in results.values()]), frozen_note(results)]
        lines.append(pretraining_note(spec, run, results))
        lines.append(landmarks_note(results))
        return {"lines": [line for line in lines if line], "setting": tables.run_setting(run, results)}

    saved = reporting.cached(run, f"{key}_notes", notes)
    sentences = (
        [
            claim_sentence(spec, claims.loc[versus], f"'{versus}'")
            for versus in dict.fromkeys(claims.index.get_level_values(0))
        ]
        if len(claims)
        else []
    )
    sentences.append(gan_claim_sentence(spec, claims))
    write_affect_table(spec, frame, run, setting=saved["setting"], notes=saved["lines"] + sentences)
    return results, frame, claims


def landmarks_note(results: dict[str, RunResult]) -> str:
    """The note of a table whose networks take landmarks (AffWildNet, Tables 2 and 3); '' otherwise."""
    rows = [r.row.label for r in results.values() if r.row.landmarks]
    if not rows:
        return ""
    return (
        f"{', '.join(rows)}: the network takes each frame's 68 landmarks beside its crop, as AffWildNet "
        "(Sec. 6.2.1.2; joined to the CNN features before the GRU, a kit choice), from the database's "
        "annotations, else from dlib's 68-point predictor on the face its detector finds; a synthesized face "
        "takes its neutral source's landmarks, a face without any gets zeros."
    )


def frozen_note(results: dict[str, RunResult]) -> str:
    """Table 9's note on its convolutions: frozen on pretrained weights, trained from scratch otherwise.

    Sec. 6.2.2.2 keeps the pretrained VGG-FACE convolutions fixed and trains the FC layers of 256
    and 128 units; frozen random convolutions would be no baseline, so without pretrained
    weights the kit trains them too (docs/networks.md 8.2). '' for a table without that network.
    """
    starts = {r.pretrained for r in results.values() if r.row.network == "vggface_bu3dfe"}
    if not starts:
        return ""
    if starts == {"from scratch"}:
        return (
            "The paper froze this network's convolutions on pretrained VGG-FACE weights (Sec. 6.2.2.2); "
            "this run has no pretrained weights for it, so its convolutions trained too."
        )
    return (
        "Convolutions frozen on the pretrained weights, as in Sec. 6.2.2.2; the FC layers of 256 and 128 units trained."
    )


# --- what the figures draw -----------------------------------------------------------------------


def figure_predictions(spec: TableSpec, results: dict[str, RunResult]) -> dict[str, pd.DataFrame]:
    """Baseline then proposed predictions for a table's figure, named as in the paper's captions."""
    chosen = {}
    for role, name in ((BASELINE, "baseline"), (PROPOSED, "proposed approach")):
        result = next((r for r in results.values() if r.row.role == role), None)
        if result is not None:
            chosen[f"{name}: {result.row.network}"] = tables.scored_predictions(
                spec, result.predictions, tables.table_classes(results)
            )
    return chosen


def training_annotations(spec: TableSpec, run: Run) -> pd.DataFrame:
    """The VA annotations of a table's training set (Fig. 15), cached with the run's results."""
    from affect import datasets, reporting

    def load() -> pd.DataFrame:
        frame = datasets.load(spec.database, run.database_root(spec.database), "train")
        return frame[["valence", "arousal"]].dropna().reset_index(drop=True)

    return reporting.cached(run, f"table_{spec.number:02d}_training_va", load)


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


def feature_classifier_rows(spec: TableSpec, run: Run, baseline: RunResult) -> dict[str, RunResult]:
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
            if run.reuse_results:
                raise tables.not_saved(out)
            trained = runs.read_run(run_dir)
            module = training.load_module(run_dir / training.CHECKPOINTS / "best.ckpt")
            train, test = load_prepared(trained.prepared["train"]), load_prepared(trained.prepared["test"])
            labels = train.index["expression"].to_numpy()
            known = pd.Series(labels).isin(trained.classes).to_numpy()
            features = _features(module, train, run.device)[known]
            # LDA's shrinkage keeps the within-class scatter invertible when features outnumber images.
            model = (
                LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")
                if kind == "lda"
                else make_pipeline(StandardScaler(), LinearSVC(C=1.0, random_state=run.seed))
            )
            model.fit(features, labels[known])
            predicted = model.predict(_features(module, test, run.device))
            predictions = evaluation.predict(module, test, device=run.device)  # the rows and labels scored
            predictions["label_pred"] = predicted[test.index["expression"].isin(trained.classes).to_numpy()]
            atomic_write_text(out, predictions.to_csv(index=False))
        predictions = tables.read_predictions(out)
        results[label] = RunResult(Row(label, baseline.row.network, kind), predictions, (out,), baseline.pretrained)
    return results
