"""The GAN baselines in the reports (Sec. 6.1.2): Fig. 11 and the budget notes of Tables 2 to 5.

Fig. 11 of the paper puts the same neutral photos and VA targets through its method, StarGAN
and GANimation side by side; :func:`comparison_results` does that here and measures each
output: dlib's identity distance to the photo, and the sharpness kept (variance of the
Laplacian inside the face, output over input; 1 keeps the photo's detail).
:func:`budget_sentence` says how a trained GAN's budget compares with the original's, for the
figure's and the tables' notes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from affect import profiles
from affect.reporting import ImageGrid
from affect.run import Run, profile_named

__all__ = [
    "ORIGINAL_DEVICES",
    "gan_record",
    "budget_sentence",
    "budget_notes",
    "comparison_results",
    "gan_table_notes",
    "comparison_summary",
    "write_comparison",
]

#: What the original papers report for one training run (quoted by third parties,
#: docs/gan_baselines.md 2): StarGAN Sec. 5.3, GANimation Sec. 5.
ORIGINAL_DEVICES = {
    "stargan": "about one day on one NVIDIA Tesla M40 GPU",
    "ganimation": "about two days on one GeForce GTX 1080 Ti",
}
_NAMES = {"stargan": "StarGAN", "ganimation": "GANimation"}


def gan_record(method: str, run: Run) -> dict | None:
    """The ``gan.json`` of a run's trained GAN (budget, wall time, device), or None if it is not trained."""
    path = run.gan_root(method) / "gan.json"
    return json.loads(path.read_text()) if path.is_file() else None


def budget_sentence(method: str, record: dict) -> str:
    """How one trained GAN's budget compares with the original's (iterations, resolution, device)."""
    sizes, paper = record["sizes"], profiles.gan_sizes(profile_named("paper"), method)
    share = record["iterations"] / paper.iterations
    blocks = sizes["residual_blocks"]
    return (
        f"{_NAMES[method]} here: {record['iterations']:,} critic iterations ({100 * share:.2g} % of the "
        f"original's {paper.iterations:,}) at {sizes['image_size']} px (original: {paper.image_size}), batch "
        f"{sizes['batch_size']} ({paper.batch_size}), width {sizes['conv_dim']} ({paper.conv_dim}) with "
        f"{blocks} residual block{'s' if blocks != 1 else ''} ({paper.residual_blocks}), trained in "
        f"{record['seconds']:.0f} s on {record['device']} ({record.get('threads', '?')} threads) on "
        f"{record['source']}; the original trains {ORIGINAL_DEVICES[method]}."
        + (
            " At this budget the generator is far from converged, so its faces say nothing about the "
            "original's quality."
            if share < 0.1
            else ""
        )
    )


def budget_notes(run: Run) -> list[str]:
    """One :func:`budget_sentence` per trained GAN of a run."""
    notes = []
    for method in _NAMES:
        record = gan_record(method, run)
        if record is not None:
            notes.append(budget_sentence(method, record))
    return notes


def gan_table_notes(spec, run: Run, rows) -> list[str]:
    """Notes under a table with GAN rows: what they train, and each GAN's budget beside the original's."""
    networks = sorted({r.network for r in rows})
    lines = [
        f"The StarGAN and GANimation rows train the proposed row's network ({', '.join(networks)}) with the "
        "same budget and seed on the training set plus that GAN's faces, synthesized on the same neutral "
        "faces with the same VA targets; each GAN edits the aligned face crop, pasted back into the photo."
    ]
    paper_networks = {label.split(" trained using")[0] for label in spec.gans}
    if spec.number == 5 and paper_networks == {"VGG-FACE"}:
        lines.append(
            "The paper labels Table 5's GAN rows VGG-FACE; here they train the proposed row's "
            "VGG-FACE-GRU, so that the rows differ only in the synthesized faces."
        )
    return lines + budget_notes(run)


def _face_region(shape: tuple[int, int], landmarks: np.ndarray) -> np.ndarray:
    """(H, W) bool: inside the convex hull of the 68 landmarks."""
    import cv2

    mask = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.round(landmarks).astype(np.int32)), 1)
    return mask.astype(bool)


def comparison_results(
    synthesizer,
    photos: Sequence[str | os.PathLike],
    va_targets: Sequence[Sequence[float]],
    run: Run,
) -> tuple[ImageGrid, pd.DataFrame]:
    """Fig. 11: each photo and VA target through the paper's method, StarGAN and GANimation.

    Parameters
    ----------
    synthesizer : AffectSynthesizer
        The paper's method (its ``static`` synthesis, Sec. 4.5.2).
    photos : paths
    va_targets : (valence, arousal) pairs
    run : Run
        Chooses the GANs (trained on the run's gallery first if absent,
        :meth:`affect.run.Run.augmenter`) and the seed of their edits.

    Returns
    -------
    ImageGrid with a row per (photo, target): input, proposed, StarGAN, GANimation (face crops);
    DataFrame with a row per output: photo, target, method, identity distance and sharpness kept.
    """
    from affect.augmentation.targets import Target
    from affect.experiments.qualitative import CROP_PIXELS, face_crop, panel_crop
    from affect.face.landmarks import landmarks_for
    from affect.face.quality import sharpness_ratio
    from affect.image import read_image

    gans = {method: run.augmenter(method) for method in _NAMES}
    titles = ["input", "proposed", *_NAMES.values()]
    rows, panels, names = [], [], []
    for photo in photos:
        image = read_image(photo)
        landmarks = landmarks_for(image)
        box = _face_box(image, landmarks)
        window, region = face_crop(image, landmarks), _face_region(image.shape[:2], landmarks)
        states = {method: gan.prepare(image, landmarks) for method, gan in gans.items()}
        for va in va_targets:
            outputs = {"proposed": synthesizer.static(image, va, landmarks=landmarks).image}
            for method, gan in gans.items():
                outputs[method] = gan.synthesize(states[method], Target(float(va[0]), float(va[1])), run.seed)
            panels.append([panel_crop(image, window)] + [panel_crop(out, window) for out in outputs.values()])
            target = "V {:+.2f}, A {:+.2f}".format(*va)
            names.append([f"input ({target})"] + titles[1:])
            for method, output in outputs.items():
                rows.append(
                    {
                        "photo": os.path.basename(str(photo)),
                        "target": target,
                        "method": method,
                        "identity distance": _identity(image, output, landmarks, box),
                        "sharpness kept": sharpness_ratio(image, output, region),
                    }
                )
    grid = ImageGrid(
        np.asarray(panels, np.uint8).reshape(len(panels), len(titles), CROP_PIXELS, CROP_PIXELS, 3),
        np.asarray(names, dtype=str),
    )
    return grid, pd.DataFrame(rows)


def _face_box(image: np.ndarray, landmarks: np.ndarray) -> tuple[int, int, int, int]:
    """The photo's face box (left, top, right, bottom): the detector's, else the landmarks' bounds."""
    from affect.face.landmarks import face_box

    found = face_box(image)
    if found is not None:
        return found
    (left, top), (right, bottom) = np.floor(landmarks.min(axis=0)), np.ceil(landmarks.max(axis=0))
    return int(left), int(top), int(right), int(bottom)


def _identity(photo: np.ndarray, output: np.ndarray, landmarks: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """dlib's identity distance between photo and output.

    Every method leaves the face where it was, so the output's landmarks are located inside the
    photo's face box: a detector run on the whole output can settle on another face or on a
    false one (it did on Einstein's photo, giving one distance to five different outputs).
    """
    from affect.face.landmarks import detect_landmarks
    from affect.face.recognition import identity_distance

    return float(identity_distance(photo, output, landmarks, detect_landmarks(output, box)))


def comparison_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per method: mean identity distance, share judged the same person (< 0.6), mean sharpness kept."""
    from affect.face.recognition import SAME_PERSON_THRESHOLD

    grouped = table.groupby("method", sort=False)
    return pd.DataFrame(
        {
            "mean identity distance": grouped["identity distance"].mean(),
            "same person (< 0.6)": grouped["identity distance"].apply(
                lambda d: float((d < SAME_PERSON_THRESHOLD).mean())
            ),
            "mean sharpness kept": grouped["sharpness kept"].mean(),
        }
    )


def write_comparison(run: Run, table: pd.DataFrame, notes: Sequence[str]) -> os.PathLike:
    """``figures/fig11_gan_comparison.md`` and ``.csv``: Fig. 11's measurements per output and per method."""
    from affect.experiments.tables import write_report

    title = run.title("the proposed method, StarGAN and GANimation on the same photos and VA targets")
    return write_report(
        run,
        "figures",
        "fig11_gan_comparison",
        heading=f"### Fig. 11: {title}",
        shown=comparison_summary(table),
        csv=table,
        csv_index=False,
        caption="Identity distance: dlib's face-descriptor distance between photo and output (the same person "
        "below 0.6). Sharpness kept: variance of the Laplacian inside the face (the landmarks' convex hull), "
        "output over input. Every output is in fig11_gan_comparison.csv.",
        notes=notes,
    )
