"""A run: the settings of a notebook's ``parameters`` cell, and every artifact got or built from them.

A :class:`Run` is made once at the edge (a notebook, the command line, the pipeline) by
:func:`start`, which checks each setting; it is the one place where a profile's name becomes
its sizes (:func:`profile_named`). Each of its methods gets an artifact of the run, building it
when absent, by handing sizes and paths to the domain function that does the work:

- :meth:`Run.database`: a database's folder (the stand-in written first, Sec. 5)
- :meth:`Run.gallery`, :meth:`Run.affect_model`, :meth:`Run.synthesizer`: the 4D gallery, the
  affect model built from it and the synthesizer of Sec. 3 and 4
- :meth:`Run.augmenter`, :meth:`Run.augmented_set`: the augmenter of a method and the augmented
  training set of a table (Sec. 6.2, Table 1)
- :meth:`Run.gan`: a GAN baseline's trained generator (Sec. 6.1.2)

Below this module, domain code takes a :class:`affect.profiles.Profile` (or its parts), paths
and seeds, never a profile name or a Run; the experiments and notebooks take the Run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from affect import data_paths, profiles
from affect.files import check_writable
from affect.learning.pretrained import Weights, parse_weights
from affect.profiles import Profile
from affect.reporting import source_label
from affect.vocabulary import SOURCES, check_choice

if TYPE_CHECKING:
    from affect.augmentation.augmented_sets import AugmentedSet

__all__ = ["Run", "start", "profile_named"]


def profile_named(name: str) -> Profile:
    """The profile called ``name`` (``smoke``, ``default``, ``paper``); ValueError names the valid ones."""
    return profiles.get(name)


@dataclass(frozen=True)
class Run:
    """What a notebook's ``parameters`` cell sets, checked (:func:`start`).

    Attributes
    ----------
    profile : Profile
        The sizes of the run (:mod:`affect.profiles`).
    data_source : {'proxy', 'real'}
        The databases: the kit's stand-ins or the user's copies (:mod:`affect.data_paths`).
    gallery_source : {'proxy', 'real'}
        Whose affect model synthesizes: the stand-in gallery or a VA-annotated 4DFAB.
    seed : int
    device : str
        Where networks train and run (``cpu``, ``cuda``, ``auto``).
    weights : Weights
        Where each network of Tables 2 to 9 starts from (a file, torchvision's ImageNet
        weights, or scratch: :class:`affect.learning.pretrained.Weights`).
    out_dir : Path
        The report folder (:mod:`affect.reporting`).
    reuse_results : bool
        Redraw from saved results instead of computing them.
    """

    profile: Profile
    data_source: str
    gallery_source: str
    seed: int
    device: str
    weights: Weights
    out_dir: Path
    reuse_results: bool

    # --- reports -------------------------------------------------------------------------------

    @property
    def label(self) -> str:
        """The suffix every title carries: data source and profile."""
        return f"{source_label(self.data_source)}; profile '{self.profile.name}'"

    def title(self, text: str) -> str:
        """``text`` followed by the data source and profile."""
        return f"{text} [{self.label}]"

    def path(self, kind: str, name: str) -> Path:
        """A file under ``out_dir/kind``; the writers create the folder when they write."""
        return self.out_dir / kind / name

    # --- databases -----------------------------------------------------------------------------

    def database_root(self, name: str) -> Path:
        """The folder of database ``name`` for this run's data source and profile (not written)."""
        return data_paths.database_root(name, self.data_source, self.profile.name)

    def database(self, name: str) -> Path:
        """The folder of database ``name``; its stand-in is written first if absent or outdated
        (:func:`affect.datasets.proxy.ensure_proxy`, with ``data_source='proxy'``)."""
        from affect.datasets.proxy import ensure_proxy

        root = self.database_root(name)
        if self.data_source == "proxy":
            ensure_proxy(name, root.parent, self.profile, self.seed)
        return root

    # --- gallery and synthesis -----------------------------------------------------------------

    def gallery(self, model: Any = None) -> Any:
        """The run's 4D gallery (:func:`affect.gallery.proxy.prepare_gallery`), the stand-in
        written first when ``gallery_source='proxy'``."""
        from affect.gallery.proxy import prepare_gallery

        return prepare_gallery(None, self.profile, self.seed, self.gallery_source, model)

    def affect_model(self, *, rebuild: bool = False, progress: bool = False) -> Path:
        """The run's affect model file, built from its gallery if absent
        (:func:`affect.gallery.affect_model.ensure_affect_model`)."""
        from affect.gallery.affect_model import ensure_affect_model

        return ensure_affect_model(self.gallery_source, self.profile, self.seed, rebuild=rebuild, progress=progress)

    def synthesizer(self) -> Any:
        """The synthesizer of the run's affect model, without identity measurement (for builds)."""
        from affect.synthesis import AffectSynthesizer

        return AffectSynthesizer.from_file(self.affect_model(), measure_identity=False)

    # --- augmentation --------------------------------------------------------------------------

    def augmenter(
        self,
        method: str,
        *,
        affect_model: str | os.PathLike | None = None,
        generator: str | os.PathLike | None = None,
        progress: bool = False,
    ) -> Any:
        """The augmenter of ``method`` (Sec. 6.1.2, 6.2).

        The paper's method adapts the run's synthesizer
        (:meth:`affect.augmentation.augmenters.SynthesizerAugmenter.from_file`); a GAN baseline is
        :func:`affect.learning.gans.augmenter.gan_augmenter`, with the run's generator
        (:meth:`gan`, trained on the gallery first if absent) unless ``generator`` is given.

        Parameters
        ----------
        method : {'proposed', 'stargan', 'ganimation'}
        affect_model : path, optional
            An affect model file instead of the run's.
        generator : path, optional
            A GAN's ``generator.pt`` instead of the run's.
        """
        from affect.augmentation.augmenters import SynthesizerAugmenter
        from affect.augmentation.methods import check_method

        check_method(method)
        if affect_model is None:
            affect_model = self.affect_model(progress=progress)
        if method == "proposed":
            return SynthesizerAugmenter.from_file(affect_model)
        from affect.learning.gans.augmenter import gan_augmenter

        return gan_augmenter(
            method,
            affect_model,
            profile=self.profile,
            gallery_source=self.gallery_source,
            seed=self.seed,
            generator=generator,
            device=self.device,
            progress=progress,
        )

    def augmented_set(
        self,
        database: str,
        kind: str,
        method: str = "proposed",
        *,
        jobs: int = 1,
        synthesizer: Any = None,
        progress: bool = False,
    ) -> AugmentedSet:
        """The augmented set of a table, built if absent or outdated
        (:func:`affect.augmentation.augmented_sets.augmented_set`).

        Each method has its own folder (:func:`affect.data_paths.augmented_root`); the set is
        synthesized by ``synthesizer``, else by :meth:`synthesizer` (the paper's method) or
        :meth:`augmenter` (a GAN baseline), made only when the set has to be built.
        """
        from affect.augmentation import augmented_sets
        from affect.augmentation.methods import check_method

        if (database, kind) not in augmented_sets.PAPER_RATIO:
            raise ValueError(f"{database}/{kind}: no augmented set in Tables 2 to 9")
        out = data_paths.augmented_root(
            database, self.data_source, self.profile.name, self.gallery_source, self.seed, check_method(method)
        )

        def make() -> Any:
            if synthesizer is not None:
                return synthesizer
            return self.synthesizer() if method == "proposed" else self.augmenter(method)

        return augmented_sets.augmented_set(
            database,
            kind,
            self.database_root(database),
            out,
            make,
            profile=self.profile,
            seed=self.seed,
            jobs=jobs,
            progress=progress,
            method=method,
        )

    def gan(self, method: str, *, progress: bool = False) -> Path:
        """The ``generator.pt`` of GAN baseline ``method``, trained on the run's gallery if absent
        (:func:`affect.learning.gans.training.trained_generator`)."""
        from affect.learning.gans.training import trained_generator

        return trained_generator(
            method,
            profile=self.profile,
            gallery_source=self.gallery_source,
            seed=self.seed,
            device=self.device,
            progress=progress,
        )

    def gan_root(self, method: str) -> Path:
        """The folder of GAN baseline ``method`` trained on the run's gallery (:func:`affect.data_paths.gan_root`)."""
        return data_paths.gan_root(method, self.gallery_source, self.profile.name, self.seed)


def start(
    profile: str = "default",
    data_source: str = "proxy",
    gallery_source: str = "proxy",
    seed: int = 0,
    device: str = "cpu",
    weights: str | os.PathLike | Mapping[str, str] | Weights | None = None,
    out_dir: str | os.PathLike = "reports",
    reuse_results: bool = False,
) -> Run:
    """Check a notebook's parameters and return its :class:`Run`; ``out_dir`` is created.

    ``weights``: None (every network from scratch), one file (the networks its layout fits),
    ``'imagenet'``, or ``NAME=SOURCE`` pairs such as ``'vggface=vgg_face.pth
    resnet_gru=imagenet'`` (:func:`affect.learning.pretrained.parse_weights`). They fit the
    published networks only, so a network with pretrained weights is built at the published
    width at every profile (:func:`affect.learning.pretrained.network_width`); the profile sets
    the rest (input size, batch, epochs) and the width of the networks from scratch.

    Each bad setting raises ValueError naming it.
    """
    sizes = profile_named(profile)
    check_choice("data_source", data_source, SOURCES)
    check_choice("gallery_source", gallery_source, SOURCES)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"seed: expected an integer, got {seed!r}")
    if not isinstance(device, str) or not device:
        raise ValueError(f"device: expected a torch device name such as 'cpu' or 'cuda', got {device!r}")
    pretrained = parse_weights(weights)
    out = check_writable(out_dir, folder=True).resolve()
    out.mkdir(parents=True, exist_ok=True)
    return Run(
        sizes,
        data_source,
        gallery_source,
        seed,
        device,
        pretrained,
        out,
        bool(reuse_results),
    )
