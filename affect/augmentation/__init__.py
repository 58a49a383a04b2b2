"""Augmented training sets: synthesized faces from a database's neutral faces (Sec. 6.2, Table 1).

Three steps:

- :mod:`~affect.augmentation.targets`: :func:`plan`, one row per (neutral image, target affect)
- :mod:`~affect.augmentation.build`: :func:`build` runs an :class:`Augmenter`
  (:mod:`~affect.augmentation.augmenters`; the methods compared in
  :mod:`~affect.augmentation.methods`) over a plan, resumably, shard by shard
  (:mod:`~affect.augmentation.shards`, :mod:`~affect.augmentation.shard_tasks`) in this process,
  a process pool or on Dask (:mod:`~affect.augmentation.engines`,
  :mod:`~affect.augmentation.dask_engine`), measuring identity on a sample
  (:mod:`~affect.augmentation.identity_check`); :func:`augment_database` does it for one database
  into a locked output folder that records its settings (:mod:`~affect.augmentation.output_folder`)
- :mod:`~affect.augmentation.manifest`: the manifest of finished images, and the synthesized
  rows each (person-independent) fold may train on

:mod:`~affect.augmentation.augmented_sets` sizes and builds the augmented training set of a table
of Tables 2 to 9 at the paper's share of synthesized images.
"""

from affect.augmentation.augmenters import Augmenter, SynthesizerAugmenter
from affect.augmentation.build import augment_database, augment_proxies, build
from affect.augmentation.manifest import (
    MANIFEST,
    MANIFEST_COLUMNS,
    augment_folds,
    read_manifest,
    synthesized_frame,
    write_manifest,
)
from affect.augmentation.shards import SKIPPED, read_skipped
from affect.augmentation.targets import VA_TARGETS_PER_IMAGE, Target, class_targets, plan

__all__ = [
    "Augmenter",
    "SynthesizerAugmenter",
    "augment_database",
    "augment_proxies",
    "build",
    "read_skipped",
    "SKIPPED",
    "MANIFEST",
    "MANIFEST_COLUMNS",
    "augment_folds",
    "read_manifest",
    "synthesized_frame",
    "write_manifest",
    "VA_TARGETS_PER_IMAGE",
    "Target",
    "class_targets",
    "plan",
]
