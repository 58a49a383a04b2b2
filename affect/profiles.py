"""Run profiles: the sizes behind ``profile = smoke | default | paper``.

Notebooks hold no magic numbers; they read their sizes from the profile. ``smoke`` runs in
seconds for CI, ``default`` on a laptop CPU, ``paper`` at the paper's scale (GPU advised).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from affect.vocabulary import check_choice


@dataclass(frozen=True)
class TrainingSizes:
    """Sizes of the learning runs of one profile (Sec. 6.2; docs/networks.md for the paper's values).

    Attributes
    ----------
    input_size : int
        Crop side of the per-frame networks, px (paper scale: 224, VGG-Face's input).
    sequence_input_size : int
        Crop side of the recurrent networks, px (AffWildNet: 96).
    width : float
        Channel-width multiplier of the networks (1.0: the published networks).
    sequence_length : int
        Frames per training clip of the recurrent networks (AffWildNet: 80).
    gru_hidden, gru_layers : int
        GRU sizes (AffWildNet: 128 units, 2 layers).
    batch_size : int
        Images per batch of the per-frame networks.
    clips_per_batch : int
        Clips per batch of the recurrent networks (Kollias's AffWildNet code: 10 of 80 frames).
    max_epochs, patience : int
        Epoch limit, and epochs without a better validation score before stopping.
    min_steps : int
        Optimisation steps every run takes before it may stop, however small its training set
        (more epochs than ``max_epochs`` if need be): on a few hundred faces, 6 epochs are a
        few dozen steps, before a network from scratch has begun to learn.
    learning_rate : float
        Adam's step size.
    mse_weight : float
        Weight of the MSE term added to the CCC loss of VA training.
    num_workers : int
        DataLoader processes (0: load in the training process).
    """

    input_size: int
    sequence_input_size: int
    width: float
    sequence_length: int
    gru_hidden: int
    gru_layers: int
    batch_size: int
    clips_per_batch: int
    max_epochs: int
    patience: int
    learning_rate: float
    mse_weight: float = 0.0
    num_workers: int = 0
    min_steps: int = 0


# Sizes of the networks and their training. paper: VGG-Face's 224 px input, AffWildNet's 96 px
# and 80-frame clips, 10 clips per batch (docs/networks.md 1.1, 1.2); the paper names no optimiser
# or learning rate for VGG-FACE, so Adam at 1e-4 for fine-tuning is a kit choice. default: a
# 2-core CPU trains one network on a 3,000-image stand-in in a few minutes (64 px, a quarter of
# the channels); its recurrent batches hold 8 short clips rather than 4 longer ones, since a
# batch CCC over few videos of slowly moving labels is noisy (docs/networks.md 7.1), and Adam at 3e-4
# (on the Aff-Wild stand-in, 1e-3 left VGG-FACE-GRU's test CCC at 0), and at least 200 steps
# (RAF-DB's 750 faces: VGG-FACE's validation recall left chance after about 170). smoke: seconds.
_TRAINING = {
    "smoke": TrainingSizes(
        input_size=32,
        sequence_input_size=32,
        width=0.0625,
        sequence_length=4,
        gru_hidden=16,
        gru_layers=2,
        batch_size=16,
        clips_per_batch=4,
        max_epochs=1,
        patience=1,
        learning_rate=1e-3,
        mse_weight=0.5,
    ),
    "default": TrainingSizes(
        input_size=64,
        sequence_input_size=64,
        width=0.25,
        sequence_length=4,
        gru_hidden=64,
        gru_layers=2,
        batch_size=32,
        clips_per_batch=8,
        max_epochs=6,
        patience=2,
        learning_rate=3e-4,
        mse_weight=0.5,
        min_steps=200,
    ),
    "paper": TrainingSizes(
        input_size=224,
        sequence_input_size=96,
        width=1.0,
        sequence_length=80,
        gru_hidden=128,
        gru_layers=2,
        batch_size=64,
        clips_per_batch=10,
        max_epochs=30,
        patience=5,
        learning_rate=1e-4,
        mse_weight=0.5,
        num_workers=8,
    ),
}


@dataclass(frozen=True)
class GANSizes:
    """Sizes of one GAN baseline's training (Sec. 6.1.2; docs/gan_baselines.md 1 and 2 for the originals).

    Attributes
    ----------
    image_size : int
        Side of the face crops, px (originals: 128).
    conv_dim : int
        Channels of the first generator and discriminator layer (originals: 64).
    residual_blocks : int
        Residual blocks of the generator's bottleneck (originals: 6).
    max_channels : int or None
        Cap on the discriminator's channels (None: the originals' doubling).
    batch_size : int
        Crops per batch (StarGAN 16, GANimation 25).
    iterations : int
        Critic iterations (StarGAN 200,000; GANimation 30 epochs of 200,000 images at batch 25).
    decay_iterations : int
        Last iterations over which both learning rates fall linearly to 0 (StarGAN 100,000;
        GANimation the last 10 of 30 epochs).
    n_critic : int
        Critic steps per generator step (both: 5).
    learning_rate : float
        Adam's step size for both networks (both: 1e-4, betas 0.5 and 0.999).
    gallery_frames : int
        Gallery frames rendered into training crops (GANimation used 200,000 images).
    checkpoint_every : int
        Iterations between checkpoints and sample grids.
    """

    image_size: int
    conv_dim: int
    residual_blocks: int
    max_channels: int | None
    batch_size: int
    iterations: int
    decay_iterations: int
    n_critic: int
    learning_rate: float
    gallery_frames: int
    checkpoint_every: int


# paper: the originals' sizes and schedules (a GPU's work: days each). default: 64 px crops,
# a quarter of the channels, 3 residual blocks and batch 8, so that one GAN trains in at most
# about 10 minutes on a shared 2-core CPU (about 1.2 s per critic iteration measured there; 400
# took GANimation 368 s): hundreds of times fewer iterations than the originals, so its faces
# are poor.
# smoke: seconds, for the tests.
_GANS = {
    "smoke": {
        method: GANSizes(
            image_size=16,
            conv_dim=4,
            residual_blocks=1,
            max_channels=16,
            batch_size=4,
            iterations=6,
            decay_iterations=3,
            n_critic=5,
            learning_rate=1e-4,
            gallery_frames=24,
            checkpoint_every=3,
        )
        for method in ("stargan", "ganimation")
    },
    "default": {
        method: GANSizes(
            image_size=64,
            conv_dim=16,
            residual_blocks=3,
            max_channels=256,
            batch_size=8,
            iterations=400,
            decay_iterations=200,
            n_critic=5,
            learning_rate=1e-4,
            gallery_frames=1500,
            checkpoint_every=100,
        )
        for method in ("stargan", "ganimation")
    },
    "paper": {
        "stargan": GANSizes(
            image_size=128,
            conv_dim=64,
            residual_blocks=6,
            max_channels=None,
            batch_size=16,
            iterations=200_000,
            decay_iterations=100_000,
            n_critic=5,
            learning_rate=1e-4,
            gallery_frames=200_000,
            checkpoint_every=10_000,
        ),
        "ganimation": GANSizes(
            image_size=128,
            conv_dim=64,
            residual_blocks=6,
            max_channels=None,
            batch_size=25,
            iterations=240_000,
            decay_iterations=80_000,
            n_critic=5,
            learning_rate=1e-4,
            gallery_frames=200_000,
            checkpoint_every=10_000,
        ),
    },
}


@dataclass(frozen=True)
class Profile:
    """Sizes of one run profile."""

    name: str
    # Sec. 6.1: qualitative synthesis on photos.
    n_photos: int  # builtin photos used for the figures
    n_va_targets: int  # VA points per photo for static synthesis (Figs. 7, 8)
    n_path_frames: int  # frames of a temporal sequence along a VA path (Fig. 10)
    # Sec. 3.1 to 3.3: the 4D gallery (4DFAB: 180 subjects, 1,580 sequences, about 600,000 frames).
    gallery_subjects: int
    gallery_sequences: int
    gallery_mean_frames: int
    gallery_apex_per_expression: int  # posed apex meshes per basic expression (paper: 2,000)
    n_va_classes: int  # Sec. 4.5.1: 550 agglomerative classes
    sparse_components: int  # Sec. 4.5.3: sparse blendshapes per basic expression
    n_variations: int  # sampled variations per expression shown (Sec. 4.5.3)
    # Sec. 5: stand-in databases, as a fraction of Table 1's sizes, capped per database.
    data_scale: float
    data_max_per_database: int | None
    # Table 1: augmentation of the stand-ins (None: every neutral face, as the paper).
    augment_neutral_per_database: int | None
    augment_va_targets: int  # paper's Table 1 implies 57 per neutral face
    # Tables 2 to 9: most synthesized images added to one training set (None: the paper's share).
    augment_max_per_set: int | None
    # Sec. 6.2: the networks and their training.
    training: TrainingSizes
    # Stand-in sizes of named databases, overriding scale and cap: images, video frames
    # (Aff-Wild, AFEW-VA, RECOLA) or 3-frame clips (AFEW).
    data_sizes: Mapping[str, int] = field(default_factory=dict)
    # Sec. 6.1.2: the GAN baselines, per method ('stargan', 'ganimation').
    gans: dict = field(default_factory=dict)
    # Sec. 6.4 (Table 12, Fig. 20): the tables whose databases get a curve (None: Tables 2 to 9),
    # Table 12's points run between N = 0 and the whole synthesized set (None: all of the
    # paper's), folds of the cross-validated Tables 5 and 9 (None: all), and
    # seeds (each extra seed trains every point again, endpoints included).
    granularity_tables: tuple[int, ...] | None = None
    granularity_points: int | None = None
    granularity_folds: int | None = None
    granularity_seeds: int = 1
    # Sec. 6.3 (Table 11): most synthesized faces a network trains on alone (None: the whole set),
    # a seeded subset with the same sources and targets for every method.
    synthetic_train_max: int | None = None
    # Resamples of every table's 95 % bootstrap intervals (Tables 2 to 14); smoke takes fewer so
    # that a notebook scoring many prediction files stays within its minute.
    bootstrap_resamples: int = 1000


# default's stand-ins: large enough that every class and fold of the small databases is learnt
# (RAF-DB's 7 classes, BU-3DFE's 10 person-independent folds of 2 subjects), small enough that
# AffectNet VA reaches the paper's share of synthesized faces (5 times its 750 training images)
# and notebooks 02 to 09 train within 45 minutes on a 2-core CPU. FER2013, which Table 8's
# VGG-FACE-FER trains on before AFEW, holds more faces than AFEW's 450 clips, as the real one does.
_DEFAULT_SIZES = {"affectnet": 1000, "rafdb": 1000, "afew": 450, "bu3dfe": 500, "fer2013": 1500}

PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        "smoke",
        n_photos=1,
        n_va_targets=2,
        n_path_frames=3,
        gallery_subjects=6,
        gallery_sequences=12,
        gallery_mean_frames=40,
        gallery_apex_per_expression=10,
        n_va_classes=20,
        sparse_components=3,
        n_variations=2,
        data_scale=0.0005,
        data_max_per_database=40,
        augment_neutral_per_database=1,
        augment_va_targets=2,
        augment_max_per_set=12,
        training=_TRAINING["smoke"],
        gans=_GANS["smoke"],
        granularity_tables=(4, 5, 7, 9),
        granularity_points=1,
        granularity_folds=1,
        granularity_seeds=1,
        bootstrap_resamples=100,
    ),
    "default": Profile(
        "default",
        n_photos=4,
        n_va_targets=6,
        n_path_frames=12,
        gallery_subjects=60,
        gallery_sequences=240,
        gallery_mean_frames=200,
        gallery_apex_per_expression=200,
        n_va_classes=550,
        sparse_components=8,
        n_variations=4,
        data_scale=0.01,
        data_max_per_database=3000,
        augment_neutral_per_database=2,
        augment_va_targets=57,
        augment_max_per_set=None,
        training=_TRAINING["default"],
        data_sizes=_DEFAULT_SIZES,
        gans=_GANS["default"],
        granularity_points=1,
        granularity_folds=1,
        granularity_seeds=1,
        synthetic_train_max=1000,
    ),
    "paper": Profile(
        "paper",
        n_photos=4,
        n_va_targets=12,
        n_path_frames=30,
        gallery_subjects=180,
        gallery_sequences=1580,
        gallery_mean_frames=380,
        gallery_apex_per_expression=2000,
        n_va_classes=550,
        sparse_components=8,
        n_variations=6,
        data_scale=1.0,
        data_max_per_database=None,
        augment_neutral_per_database=None,
        augment_va_targets=57,
        augment_max_per_set=None,
        training=_TRAINING["paper"],
        gans=_GANS["paper"],
        granularity_points=None,
        granularity_folds=None,
        granularity_seeds=3,
    ),
}


#: The profile names, smallest first.
NAMES: tuple[str, ...] = tuple(PROFILES)


def get(name: str) -> Profile:
    """The profile called ``name``; ValueError lists the valid names."""
    return PROFILES[check_choice("profile", name, NAMES)]


def gan_sizes(profile: Profile, method: str) -> GANSizes:
    """The training sizes of GAN baseline ``method`` ('stargan' or 'ganimation') in ``profile``."""
    if method not in profile.gans:
        raise ValueError(f"method: expected one of {tuple(profile.gans)}, got {method!r}")
    return profile.gans[method]


def data_scale(profile: Profile, database_size: int, name: str | None = None) -> float:
    """Fraction of database ``name`` (``database_size`` images or frames) its stand-in holds."""
    if name in profile.data_sizes:
        return min(1.0, profile.data_sizes[name] / database_size)
    if profile.data_max_per_database is None:
        return profile.data_scale
    return min(profile.data_scale, profile.data_max_per_database / database_size)


@dataclass(frozen=True)
class AgeEstimatorSizes:
    """Sizes of the age estimator of Sec. 6.5 and of its stand-in training set.

    Attributes
    ----------
    input_size : int
        Crop side, px (docs/networks.md 5: 64, yu4u's demo).
    width : float
        Width multiplier of WRN-16-8 (1.0: k = 8; 0.25: k = 2).
    batch_size, max_epochs, patience : int
    learning_rate : float
        Adam's step size (yu4u's train.py offers Adam beside SGD).
    proxy_faces : int
        Faces of the stand-in age database (IMDB, Adience and WIKI parts together).
    image_size : int
        Side of the stand-in photos, px.
    """

    input_size: int
    width: float
    batch_size: int
    max_epochs: int
    patience: int
    learning_rate: float
    proxy_faces: int
    image_size: int

    def training(self) -> TrainingSizes:
        """The :class:`TrainingSizes` that :func:`affect.learning.training.fit` takes."""
        return TrainingSizes(
            input_size=self.input_size,
            sequence_input_size=self.input_size,
            width=self.width,
            sequence_length=1,
            gru_hidden=1,
            gru_layers=1,
            batch_size=self.batch_size,
            clips_per_batch=1,
            max_epochs=self.max_epochs,
            patience=self.patience,
            learning_rate=self.learning_rate,
        )


# paper: WRN-16-8 at 64 px, batch 32, 30 epochs (docs/networks.md 5); the real IMDB-WIKI and Adience
# are the user's. default: WRN-16-1 at 32 px on 1,200 stand-in faces, minutes on 2 CPU cores (k = 2
# at 48 px trained at under 3 images per second there); smoke: the same network on 160 faces.
AGE_ESTIMATOR: dict[str, AgeEstimatorSizes] = {
    "smoke": AgeEstimatorSizes(
        input_size=32,
        width=0.125,
        batch_size=32,
        max_epochs=4,
        patience=4,
        learning_rate=3e-3,
        proxy_faces=160,
        image_size=64,
    ),
    "default": AgeEstimatorSizes(
        input_size=32,
        width=0.125,
        batch_size=32,
        max_epochs=10,
        patience=4,
        learning_rate=3e-3,
        proxy_faces=1200,
        image_size=64,
    ),
    "paper": AgeEstimatorSizes(
        input_size=64,
        width=1.0,
        batch_size=32,
        max_epochs=30,
        patience=30,
        learning_rate=1e-3,
        proxy_faces=20000,
        image_size=128,
    ),
}


def age_estimator(profile: Profile) -> AgeEstimatorSizes:
    """The age estimator's sizes in ``profile`` (Sec. 6.5)."""
    return AGE_ESTIMATOR[profile.name]
