"""Augmented training sets: synthesized faces from a database's neutral faces (Sec. 6.2, Table 1).

Three steps, one module each:

- :mod:`~affect.augmentation.targets`: :func:`plan`, one row per (neutral image, target affect)
- :mod:`~affect.augmentation.build`: :func:`build` runs an augmenter over a plan, resumably,
  shard by shard (:mod:`~affect.augmentation.shards`) in this process, a process pool or on Dask
  (:mod:`~affect.augmentation.dask_engine`); :func:`augment_database` does it for one database
- :mod:`~affect.augmentation.manifest`: the manifest of finished images, and the synthesized
  rows each (person-independent) fold may train on
"""

from affect.augmentation.build import (
    SKIPPED,
    Augmenter,
    SynthesizerAugmenter,
    augment_database,
    augment_stand_ins,
    build,
    read_skipped,
)
from affect.augmentation.manifest import (
    MANIFEST,
    MANIFEST_COLUMNS,
    augment_folds,
    read_manifest,
    synthesized_frame,
    write_manifest,
)
from affect.augmentation.targets import BASIC_EXPRESSIONS, VA_TARGETS_PER_IMAGE, Target, class_targets, plan

__all__ = [
    "Augmenter",
    "SynthesizerAugmenter",
    "augment_database",
    "augment_stand_ins",
    "build",
    "read_skipped",
    "SKIPPED",
    "MANIFEST",
    "MANIFEST_COLUMNS",
    "augment_folds",
    "read_manifest",
    "synthesized_frame",
    "write_manifest",
    "BASIC_EXPRESSIONS",
    "VA_TARGETS_PER_IMAGE",
    "Target",
    "class_targets",
    "plan",
]
