"""A procedural stand-in for the VA-annotated 4D gallery (Sec. 3.1 to 3.3), from the model.

4DFAB is licensed, so the kit writes a stand-in with the same structure, in the layout of
:mod:`affect.gallery.fourdfab` with coefficient storage: every mesh is the default morphable model
with one identity per subject and blendshape weights per frame.

What is simulated, and from what:

* **Subjects** (Sec. 3.1): 180 at paper scale, one third female (60 F / 120 M), ages 5 to
  75 years; identities drawn from the model's prior.
* **Spontaneous sequences** (Sec. 3.1): 1,580 at 60 fps, 380 frames on average (lengths
  uniform in 0.5 to 1.5 times the mean), about 600,000 frames. The affect of a sequence is a
  slowly drifting baseline near neutral plus one or more episodes, each with a smooth onset,
  an apex with small irregular jitter and an offset at least as long as the onset (onset
  0.3-1.0 s, apex 0.5-2.0 s, offset 0.5-1.5 s: macro-expressions last 0.5-4 s, Ekman;
  spontaneous onsets are smooth and offsets no faster than onsets, Schmidt et al. 2003,
  2006). An episode aims at the VA point of a basic expression (or of a relaxed state),
  scaled and jittered; categories are drawn with more weight on positive ones, so that
  valence leans positive as in the paper's Fig. 3 and Sec. 4.5.1 ("the majority of classes
  correspond to ... positive valence").
* **Face movement**: the sequence's true VA path -> action units -> blendshape weights
  (:mod:`affect.gallery.affect_mapping`), with a per-subject idiosyncrasy, small smooth noise on
  each weight, and spontaneous blinks (about 17 per minute at rest, Bentivoglio et al. 1997).
* **Annotations** (Sec. 3.2): three annotators follow the true VA path with their own
  reaction lag (0.4-0.7 s), gain and per-clip offset, plus smooth noise. Their noise levels
  are set so that each annotator's mean Pearson correlation with the others, over the
  pooled frames, lands near the paper's 0.66 / 0.70 / 0.68 (valence) and 0.59 / 0.62 / 0.59
  (arousal). The label is the annotators' mean, as in the paper. The face follows the true
  path, not the label, so labels carry realistic annotation error.
* **Posed apex meshes** (Sec. 3.1): 2,000 per basic expression at paper scale, each a
  subject's FACS prototype at full intensity (posed expressions are larger than spontaneous
  ones, Schmidt et al. 2006) with the subject's idiosyncrasy and small noise.

Writes are atomic (temporary file + ``os.replace``) and resumable: a sequence whose
``va.csv`` exists is finished and skipped; every sequence draws from its own seeded
generator, so a resumed gallery is identical to one written in one go.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.ndimage
import scipy.signal

from affect import data_paths, profiles
from affect.face.morphable_model import MorphableModel
from affect.gallery.affect_mapping import (
    BASIC_EXPRESSIONS,
    EXPRESSION_VA,
    WEIGHT_LIMIT,
    Idiosyncrasy,
    expression_to_blendshapes,
    fingerprint,
    sample_idiosyncrasy,
    va_to_blendshapes,
)
from affect.gallery.fourdfab import (
    Gallery,
    GalleryManifest,
    atomic_write,
    load_gallery,
    save_manifest,
    va_columns,
)
from affect.vocabulary import SOURCES, check_choice

__all__ = [
    "GallerySizes",
    "gallery_sizes",
    "simulate_subjects",
    "simulate_va_path",
    "simulate_annotations",
    "simulate_sequence",
    "simulate_apex",
    "write_proxy_gallery",
]

#: 4DFAB's frame rate (Sec. 3.1: "The frame rate of 4DFAB database is 60 FPS").
FPS = 60.0
#: Three expert annotators (Sec. 3.2).
N_ANNOTATORS = 3
#: Sec. 3.1: 60 of 180 subjects are female; ages 5 to 75.
FEMALE_FRACTION = 1.0 / 3.0
AGE_RANGE = (5, 75)

# Episode categories and their probabilities: a design choice that leans to positive valence
# as the paper's Fig. 3 does (4DFAB's spontaneous clips were elicited with emotional videos,
# Sec. 3.1). "relaxed" is a positive, low-arousal state (Russell & Mehrabian 1977 calm/relaxed).
_EPISODE_VA = {**EXPRESSION_VA, "relaxed": (0.68, -0.46)}
_EPISODE_P = {
    "happiness": 0.34,
    "surprise": 0.14,
    "relaxed": 0.12,
    "sadness": 0.11,
    "disgust": 0.11,
    "fear": 0.09,
    "anger": 0.09,
}
# Spread of an episode's target around its category point: about half the rating SDs of
# Russell & Mehrabian (1977) (~0.2 valence, ~0.3 arousal), since those are between raters.
_EPISODE_SD = (0.10, 0.15)
# Phase durations in seconds (design values from the temporal-dynamics literature above).
_ONSET_S, _APEX_S, _OFFSET_S = (0.3, 1.0), (0.5, 2.0), (0.5, 1.5)
# Blinks: 17 per minute at rest (Bentivoglio et al. 1997, Mov. Disord. 12:1028), 0.1-0.3 s.
_BLINKS_PER_S, _BLINK_S = 17.0 / 60.0, (0.1, 0.3)

# Annotation model. Noise std as a fraction of a reference scale of the true path (close to
# its pooled std, 0.35 valence / 0.27 arousal at paper scale). Calibrated once so that the mean
# inter-annotator correlations land near Sec. 3.2's values; annotator 2 is the most
# consistent (0.70 / 0.62 in the paper), annotator 1 the least.
_TRUE_SD = np.array([0.37, 0.28])
_NOISE_FRACTION = {"valence": np.array([0.61, 0.48, 0.63]), "arousal": np.array([0.72, 0.60, 0.80])}
# Joystick reaction lag of each annotator, in seconds: fixed (not drawn) because the spread
# of lags changes the correlations as much as the noise does; within the 0.3-1.0 s design range.
_LAGS_S = (0.7, 0.4, 0.5)
_NOISE_SMOOTH_S = 0.5  # time constant of the annotators' noise (joystick inertia)
_OFFSET_SHARE = 0.3  # share of the noise variance that is a per-clip offset


@dataclass(frozen=True)
class GallerySizes:
    """Sizes of a stand-in gallery (paper: 180, 1,580, 380, 2,000; Sec. 3.1)."""

    subjects: int
    sequences: int
    mean_frames: int
    apex_per_expression: int

    def __post_init__(self) -> None:
        if self.subjects < 1 or self.sequences < 0 or self.mean_frames < 2 or self.apex_per_expression < 0:
            raise ValueError(
                f"sizes: need subjects >= 1, sequences >= 0, mean_frames >= 2, apex_per_expression >= 0; got {self}"
            )


def gallery_sizes(profile_or_sizes: profiles.Profile | GallerySizes) -> GallerySizes:
    """Sizes from a run's Profile, or GallerySizes as they are."""
    if isinstance(profile_or_sizes, GallerySizes):
        return profile_or_sizes
    if not isinstance(profile_or_sizes, profiles.Profile):
        raise ValueError(f"profile_or_sizes: expected a Profile or GallerySizes, got {type(profile_or_sizes).__name__}")
    profile = profile_or_sizes
    return GallerySizes(
        profile.gallery_subjects,
        profile.gallery_sequences,
        profile.gallery_mean_frames,
        profile.gallery_apex_per_expression,
    )


def _rng(seed: int, *stream: int) -> np.random.Generator:
    """An independent generator for one part of the gallery (subject, sequence, ...)."""
    return np.random.default_rng([seed, *stream])


def _subseed(seed: int, *stream: int) -> int:
    return int(np.random.SeedSequence([seed, *stream]).generate_state(1)[0])


def simulate_subjects(n: int, seed: int) -> pd.DataFrame:
    """Draw subjects: one third female, ages in [5, 75] (Sec. 3.1).

    Ages follow 5 + 70 * Beta(2, 4) (mostly young adults, mean about 28; a design choice),
    with the youngest set to 5 and the oldest to 75 so that the range matches the paper.

    Returns
    -------
    DataFrame with columns subject ('S001', ...), sex ('F' or 'M'), age (int, years).
    """
    if n < 1:
        raise ValueError(f"n: need at least one subject, got {n}")
    rng = _rng(seed, 0)
    n_female = int(round(n * FEMALE_FRACTION))
    sex = np.array(["F"] * n_female + ["M"] * (n - n_female))
    rng.shuffle(sex)
    low, high = AGE_RANGE
    age = np.rint(low + (high - low) * rng.beta(2.0, 4.0, n)).astype(int)
    if n >= 2:
        age[np.argmin(age)], age[np.argmax(age)] = low, high
    return pd.DataFrame({"subject": [f"S{i + 1:03d}" for i in range(n)], "sex": sex, "age": age})


def _smooth_noise(rng: np.random.Generator, n: int, dims: int, tau_frames: float) -> np.ndarray:
    """Unit-variance AR(1) noise with time constant ``tau_frames``, shape (n, dims)."""
    phi = np.exp(-1.0 / max(tau_frames, 1e-6))
    white = rng.standard_normal((n, dims))
    scale = np.sqrt(1.0 - phi**2)
    # y[t] = phi y[t-1] + scale w[t], started at y[0] = w[0] so that it is stationary.
    start = (1.0 - scale) * white[:1]
    return scipy.signal.lfilter([scale], [1.0, -phi], white, axis=0, zi=start)[0]


def _gaussian_noise(rng: np.random.Generator, n: int, dims: int, sigma_frames: float) -> np.ndarray:
    """Unit-variance white noise smoothed by a Gaussian of ``sigma_frames``, shape (n, dims).

    Smooth at every scale (unlike AR(1) noise, whose steps stay rough), for slow drifts of
    affect; white noise through a unit-sum Gaussian has std 1 / sqrt(2 sqrt(pi) sigma).
    """
    smooth = scipy.ndimage.gaussian_filter1d(rng.standard_normal((n, dims)), sigma_frames, axis=0, mode="wrap")
    return smooth * np.sqrt(2.0 * np.sqrt(np.pi) * sigma_frames)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def simulate_va_path(n_frames: int, rng: np.random.Generator, fps: float = FPS) -> np.ndarray:
    """Draw the true valence-arousal path of one spontaneous sequence.

    A drifting baseline near neutral plus onset / apex / offset episodes towards category
    points (see the module docstring), clipped to the unit disc.

    Parameters
    ----------
    n_frames : int
    rng : numpy Generator
    fps : float

    Returns
    -------
    (n_frames, 2) float64, valence and arousal.
    """
    t = np.arange(n_frames) / fps
    base = np.array([rng.normal(0.05, 0.08), rng.normal(0.0, 0.08)])
    path = base + 0.05 * _gaussian_noise(rng, n_frames, 2, 1.0 * fps)
    names = list(_EPISODE_P)
    p = np.array([_EPISODE_P[k] for k in names])
    n_episodes = 1 + rng.poisson(n_frames / fps / 5.0)
    for _ in range(n_episodes):
        category = names[rng.choice(len(names), p=p / p.sum())]
        target = np.array(_EPISODE_VA[category]) * rng.uniform(0.4, 1.15) + rng.normal(0, _EPISODE_SD)
        onset, apex = rng.uniform(*_ONSET_S), rng.uniform(*_APEX_S)
        offset = max(onset, rng.uniform(*_OFFSET_S))
        start = rng.uniform(-onset, max(t[-1] - 0.5, 0.0))
        rise = _smoothstep((t - start) / onset)
        fall = 1.0 - _smoothstep((t - start - onset - apex) / offset)
        envelope = (rise * fall)[:, None]
        jitter = 0.03 * _gaussian_noise(rng, n_frames, 2, 0.25 * fps)
        path = path + envelope * (target + jitter - path)
    radius = np.maximum(np.hypot(path[:, 0], path[:, 1]), 1.0)
    return path / radius[:, None]


def simulate_annotations(
    true_va: np.ndarray, rng: np.random.Generator, lags_s: np.ndarray, fps: float = FPS
) -> np.ndarray:
    """Simulate K annotators' time-continuous VA traces of one sequence (Sec. 3.2).

    Each annotator follows the true path delayed by their lag, with a gain near 1, a
    per-clip offset and smooth noise (levels in ``_NOISE_FRACTION``), clipped to [-1, 1].

    Parameters
    ----------
    true_va : (F, 2) float
    rng : numpy Generator
    lags_s : (K,) float
        Reaction lag of each annotator in seconds.
    fps : float

    Returns
    -------
    (F, K, 2) float64 annotations.
    """
    n = len(true_va)
    k = len(lags_s)
    out = np.empty((n, k, 2))
    sigma = np.stack([_NOISE_FRACTION["valence"][:k], _NOISE_FRACTION["arousal"][:k]], axis=1) * _TRUE_SD
    for i in range(k):
        lag = int(round(lags_s[i] * fps))
        delayed = true_va[np.clip(np.arange(n) - lag, 0, n - 1)]
        gain = rng.uniform(0.85, 1.15, 2)
        offset = rng.normal(0.0, np.sqrt(_OFFSET_SHARE) * sigma[i])
        noise = np.sqrt(1.0 - _OFFSET_SHARE) * sigma[i] * _smooth_noise(rng, n, 2, _NOISE_SMOOTH_S * fps)
        out[:, i] = gain * delayed + offset + noise
    return np.clip(out, -1.0, 1.0)


def _blinks(n_frames: int, rng: np.random.Generator, fps: float) -> np.ndarray:
    """(F,) eyelid closure in [0, 1] from spontaneous blinks (fast close, slower open)."""
    closure = np.zeros(n_frames)
    t = np.arange(n_frames) / fps
    for start in rng.uniform(0, n_frames / fps, rng.poisson(_BLINKS_PER_S * n_frames / fps)):
        duration = rng.uniform(*_BLINK_S)
        phase = (t - start) / duration
        shape = np.where(phase < 0.35, phase / 0.35, (1.0 - phase) / 0.65)
        closure = np.maximum(closure, np.clip(shape, 0.0, 1.0))
    return closure


def simulate_sequence(
    n_frames: int,
    names: tuple[str, ...],
    idiosyncrasy: Idiosyncrasy,
    lags_s: np.ndarray,
    rng: np.random.Generator,
    fps: float = FPS,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Simulate one spontaneous sequence: its va.csv table and blendshape weights.

    Parameters
    ----------
    n_frames : int
    names : tuple of str
        Blendshape names of the model.
    idiosyncrasy : Idiosyncrasy
        The subject's AU gains and asymmetry.
    lags_s : (K,) float
        Annotators' lags in seconds.
    rng : numpy Generator
    fps : float

    Returns
    -------
    table : DataFrame with the columns of va.csv (frame, per-annotator values, label).
    weights : (n_frames, K_exp) float32 in [0, WEIGHT_LIMIT].
    """
    true_va = simulate_va_path(n_frames, rng, fps)
    weights = va_to_blendshapes(true_va, names, idiosyncrasy)
    active = weights > 0
    weights = weights + active * 0.02 * _smooth_noise(rng, n_frames, len(names), 0.3 * fps)
    blink = _blinks(n_frames, rng, fps)
    for side in ("eyeBlink_L", "eyeBlink_R"):
        if side in names:
            j = names.index(side)
            weights[:, j] = np.maximum(weights[:, j], blink)
    annotations = simulate_annotations(true_va, rng, lags_s, fps)
    k = annotations.shape[1]
    columns = {"frame": np.arange(n_frames)}
    for i in range(k):
        columns[f"valence_a{i + 1}"] = annotations[:, i, 0]
        columns[f"arousal_a{i + 1}"] = annotations[:, i, 1]
    columns["valence"] = annotations[:, :, 0].mean(axis=1)
    columns["arousal"] = annotations[:, :, 1].mean(axis=1)
    table = pd.DataFrame(columns)[va_columns(k)].round(4)
    return table, np.clip(weights, 0.0, WEIGHT_LIMIT).astype(np.float32)


def simulate_apex(
    expression: str,
    subjects: list[str],
    idiosyncrasies: dict[str, Idiosyncrasy],
    n: int,
    names: tuple[str, ...],
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Simulate ``n`` posed apex frames of one basic expression (Sec. 3.1).

    Subjects take turns (in a seeded order); each apex is the subject's FACS prototype at full
    intensity (:data:`affect.gallery.affect_mapping.EXPRESSION_AUS`; a posed apex is the
    expression's peak, and weaker apexes made the expression means hard to read on a photo),
    with the subject's idiosyncrasy and small noise on the active shapes.

    Returns
    -------
    subject : (n,) str
    weights : (n, K_exp) float32 in [0, WEIGHT_LIMIT]
    """
    if expression not in BASIC_EXPRESSIONS:
        raise ValueError(f"expression: expected one of {BASIC_EXPRESSIONS}, got {expression!r}")
    rng = _rng(seed, 3, BASIC_EXPRESSIONS.index(expression))
    order = np.array(subjects)[rng.permutation(len(subjects))]
    chosen = order[np.arange(n) % len(order)]
    weights = np.empty((n, len(names)), np.float32)
    for i, subject in enumerate(chosen):
        w = expression_to_blendshapes(expression, 1.0, names, idiosyncrasies[subject])
        w = w + (w > 0) * rng.normal(0.0, 0.03, len(names))
        weights[i] = np.clip(w, 0.0, WEIGHT_LIMIT)
    return chosen.astype(str), weights


def _check_resume(root: Path, settings: dict) -> None:
    path = root / "proxy.json"
    if path.is_file():
        previous = json.loads(path.read_text())
        if previous != settings:
            raise ValueError(
                f"{path}: {root} holds a stand-in written with other settings "
                f"({previous}); choose another root or delete it"
            )
    elif (root / "gallery.json").is_file():
        raise ValueError(f"{root / 'gallery.json'}: {root} already holds a gallery that this writer did not start")
    atomic_write(path, lambda f: f.write(json.dumps(settings, indent=2).encode()))


def write_proxy_gallery(
    root: str | os.PathLike,
    profile_or_sizes: profiles.Profile | GallerySizes,
    seed: int = 0,
    model: MorphableModel | None = None,
    progress: bool = True,
) -> Path:
    """Write the stand-in 4D gallery in the coefficient-storage layout of :mod:`affect.gallery.fourdfab`.

    Paper scale (``"paper"``: 180 subjects, 1,580 sequences, ~600,000 frames, 12,000 apex
    meshes) takes about a minute on one core and about 80 MB on disk (29 MB of
    compressed blendshape weights, 37 MB of va.csv tables; the meshes themselves would be
    ~68 GB as float32 vertices).

    Parameters
    ----------
    root : str or Path
        Destination folder. If it holds an unfinished stand-in with the same settings, the
        write resumes; other settings raise ValueError.
    profile_or_sizes : Profile or GallerySizes
        The run's profile or explicit sizes.
    seed : int
        Seed of every random draw.
    model : MorphableModel, optional
        The model; None: the default ICT-FaceKit model.
    progress : bool
        Show a progress bar over sequences.

    Returns
    -------
    Path of ``root``; read it with ``affect.gallery.fourdfab.load_gallery``.
    """
    from tqdm.auto import tqdm

    sizes = gallery_sizes(profile_or_sizes)
    if model is None:
        from affect.face.morphable_model import load_default

        model = load_default()
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    settings = {
        "sizes": asdict(sizes),
        "seed": int(seed),
        "model": model.name,
        "fps": FPS,
        "annotators": N_ANNOTATORS,
        "mapping": fingerprint(),
    }
    _check_resume(root, settings)
    description = (
        f"procedural stand-in for 4DFAB (Sec. 3.1-3.3) written by affect.gallery.proxy: "
        f"{sizes.subjects} subjects, {sizes.sequences} sequences, seed {seed}"
    )
    manifest = GalleryManifest(
        "coefficients",
        FPS,
        N_ANNOTATORS,
        model.n_vertices,
        model=model.name,
        seed=int(seed),
        complete=False,
        description=description,
    )
    save_manifest(manifest, root)

    subjects = simulate_subjects(sizes.subjects, seed)
    names = list(subjects["subject"])
    identity = model.sample_identity(sizes.subjects, seed=_subseed(seed, 1)).astype(np.float32)
    atomic_write(root / "subjects.csv", lambda f: f.write(subjects.to_csv(index=False).encode()))
    atomic_write(root / "identity.npz", lambda f: np.savez_compressed(f, subject=np.array(names), identity=identity))
    idiosyncrasies = {s: sample_idiosyncrasy(_subseed(seed, 2, i)) for i, s in enumerate(names)}
    lags = np.array(_LAGS_S)

    plan = _rng(seed, 5)
    lengths = np.maximum(2, np.rint(sizes.mean_frames * plan.uniform(0.5, 1.5, sizes.sequences))).astype(int)
    owners = np.array(names)[plan.permutation(sizes.sequences) % sizes.subjects]
    count: dict[str, int] = {}
    blend_names = tuple(model.expression_names)
    for index in tqdm(
        range(sizes.sequences), desc="gallery sequences", unit="seq", disable=not progress or sizes.sequences < 50
    ):
        subject = str(owners[index])
        j = count[subject] = count.get(subject, -1) + 1
        # 4DFAB was recorded in four sessions (Sec. 3.1); sequences are spread over them.
        folder = root / "sequences" / subject / f"session{j % 4 + 1}_clip{j // 4 + 1:02d}"
        if (folder / "va.csv").is_file():
            continue  # finished in an earlier run: va.csv is written last
        table, weights = simulate_sequence(
            int(lengths[index]), blend_names, idiosyncrasies[subject], lags, _rng(seed, 6, index)
        )
        atomic_write(folder / "expression.npz", lambda f: np.savez_compressed(f, weights=weights))  # noqa: B023
        atomic_write(folder / "va.csv", lambda f: f.write(table.to_csv(index=False).encode()))  # noqa: B023
        # (the lambdas run at once, inside the iteration that made them)

    if sizes.apex_per_expression:
        for expression in BASIC_EXPRESSIONS:
            path = root / "apex" / expression / "expression.npz"
            if path.is_file():
                continue
            who, weights = simulate_apex(
                expression, names, idiosyncrasies, sizes.apex_per_expression, blend_names, seed
            )
            atomic_write(path, lambda f: np.savez_compressed(f, subject=who, weights=weights))  # noqa: B023
    save_manifest(GalleryManifest(**{**manifest.__dict__, "complete": True}), root)
    return root


# --------------------------------------------------------------------------- a run's gallery

_PROXY_FILES = ("proxy.json", "gallery.json", "subjects.csv", "identity.npz", "sequences", "apex")


def gallery_root(data_source: str, profile: str) -> Path:
    """Return the gallery folder of a run: ``data/proxy-<profile>/gallery`` or ``data/4dfab``.

    The folders are those of :mod:`affect.data_paths` (``data/`` or ``$AFFECT_DATA``).

    Parameters
    ----------
    data_source : {"proxy", "real"}
    profile : str
        The run's profile name; each profile has its own stand-in.

    Returns
    -------
    Path. For ``"real"`` the folder must exist (ValueError naming it otherwise); for
    ``"proxy"`` :func:`prepare_gallery` writes it when missing.
    """
    check_choice("data_source", data_source, SOURCES)
    root = data_paths.gallery_root(data_source, profile)
    if data_source == "real" and not root.is_dir():
        raise ValueError(
            f"{root}: no 4DFAB gallery here; arrange a registered copy of 4DFAB in the "
            f"layout of affect.gallery.fourdfab (see data/README.md), or use data_source='proxy'"
        )
    return root


def prepare_gallery(
    root: str | os.PathLike | None = None,
    profile: profiles.Profile | GallerySizes | None = None,
    seed: int = 0,
    data_source: str = "proxy",
    model: MorphableModel | None = None,
) -> Gallery:
    """Load the gallery of Sec. 3, writing the stand-in first when it is missing.

    Parameters
    ----------
    root : str or Path, optional
        Gallery folder; None: :func:`gallery_root` of ``data_source`` and ``profile``.
    profile : Profile or GallerySizes, optional
        Size of the stand-in (the run's profile, or explicit sizes); unused for real data
        read from ``root``.
    seed : int
        Seed of the stand-in; unused for real data.
    data_source : {"proxy", "real"}
        ``proxy``: write the stand-in (:func:`affect.gallery.proxy.write_proxy_gallery`) if
        ``root`` holds none, resume an unfinished one, and rewrite one made with another
        profile or seed (it is derived data). ``real``: read ``root`` as it is.
    model : MorphableModel, optional
        The face model; None: the default model.

    Returns
    -------
    Gallery
    """
    if root is None and not isinstance(profile, profiles.Profile):
        raise ValueError("root: needed unless profile is the run's Profile")
    folder = Path(root) if root is not None else gallery_root(data_source, profile.name)
    if data_source == "real":
        if not folder.is_dir():
            raise ValueError(f"{folder}: no gallery folder (see data/README.md)")
        return load_gallery(folder, model)
    if data_source != "proxy":
        raise ValueError(f"data_source: expected 'proxy' or 'real', got {data_source!r}")
    sizes = gallery_sizes(profile)  # a bad profile raises here, before anything is touched
    try:
        write_proxy_gallery(folder, sizes, seed=seed, model=model, progress=False)
    except ValueError:
        if not (folder / "proxy.json").is_file():
            raise  # not a stand-in: never delete it
        # A stand-in written with another profile or seed: cheap to rebuild (about a minute
        # at paper scale), so it is replaced instead of stopping the run.
        _remove_proxy(folder)
        write_proxy_gallery(folder, sizes, seed=seed, model=model, progress=False)
    return load_gallery(folder, model)


def is_stale(folder: str | os.PathLike) -> bool:
    """Whether the stand-in gallery in ``folder`` was drawn with another affect mapping
    (:func:`affect.gallery.affect_mapping.fingerprint`), so it and its affect models are outdated."""
    try:
        settings = json.loads((Path(folder) / "proxy.json").read_text())
    except (OSError, ValueError):
        return False
    return settings.get("mapping") != fingerprint()


def _remove_proxy(folder: Path) -> None:
    models = [p.name for p in folder.glob(data_paths.AFFECT_MODEL_FILE.format(seed="*"))]  # built from it
    for name in (*_PROXY_FILES, *models):
        path = folder / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
