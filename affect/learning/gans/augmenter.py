"""A trained GAN baseline as an augmenter (Sec. 6.1.2, 6.2): edit the aligned face crop, paste it back.

:class:`GANAugmenter` has the interface of :class:`affect.augmentation.augmenters.Augmenter`, so the
augmentation builder makes StarGAN's or GANimation's augmented sets exactly as it makes the
paper's: same plan (the gallery's VA classes as targets), manifest and folders. For each photo
the face is aligned as the prepared-face cache aligns it (eyes level, 1.3 times the landmark
box, :func:`affect.learning.prepared.alignment_matrix`) at the generator's crop size; the
generator's output crop is warped back into the photo and blended inside the face (the convex
hull of the 68 landmarks, feathered), so every method returns a full photo of the input's size.
The output carries the generator's resolution (64 px crops at the default profile): outside the
face the photo is untouched, inside it the GAN's crop replaces the photo. :func:`gan_augmenter`
makes a run's augmenter for one baseline, training its generator first if absent.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from affect.learning.prepared import MARGIN, alignment_matrix
from affect.profiles import Profile

__all__ = ["GANAugmenter", "gan_augmenter", "paste_back", "face_mask"]

#: Feathering of the pasted face, as a fraction of the crop side (Gaussian sigma).
FEATHER = 0.03


def face_mask(landmarks: np.ndarray, shape: tuple[int, int], feather: float) -> np.ndarray:
    """(H, W) float32 in [0, 1]: the convex hull of the landmarks, blurred by ``feather`` px (sigma)."""
    mask = np.zeros(shape, np.float32)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.round(landmarks).astype(np.int32)), 1.0)
    if feather > 0:
        mask = cv2.erode(mask, np.ones((3, 3), np.uint8), iterations=max(1, int(round(feather))))
        mask = cv2.GaussianBlur(mask, (0, 0), feather)
    return mask


def paste_back(photo: np.ndarray, crop: np.ndarray, matrix: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Warp an edited crop back into the photo and blend it by ``mask`` (given in crop pixels).

    Parameters
    ----------
    photo : (H, W, 3) uint8
    crop : (S, S, 3) uint8, the edited crop
    matrix : (2, 3), photo -> crop pixels
    mask : (S, S) float in [0, 1]

    Returns
    -------
    (H, W, 3) uint8
    """
    height, width = photo.shape[:2]
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    back = cv2.warpAffine(crop, matrix, (width, height), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    weight = cv2.warpAffine(mask, matrix, (width, height), flags=flags, borderValue=0.0)[..., None]
    return np.clip(photo * (1 - weight) + back * weight, 0, 255).round().astype(np.uint8)


class GANAugmenter:
    """StarGAN's or GANimation's generator behind the augmenter interface.

    Parameters
    ----------
    generator : path
        A ``generator.pt`` written by :func:`affect.learning.gans.training.fit_gan`.
    affect_model : path, optional
        The run's affect model file; its VA classes are the targets the builder plans
        (:func:`affect.augmentation.build.augment_database`), the same as the paper's method gets.
    device : str
        Torch device of the generator.

    Instances pickle as their file paths (each worker process loads the generator once).
    """

    def __init__(
        self, generator: str | os.PathLike, affect_model: str | os.PathLike | None = None, device: str = "cpu"
    ):
        from affect.learning.gans.training import load_generator

        self.path = Path(generator)
        self.affect_model_path = None if affect_model is None else Path(affect_model)
        self.device = device
        self.model, self.record = load_generator(self.path)
        self.model.to(device)
        self.method = self.record["method"]
        self.size = int(self.record["sizes"]["image_size"])
        self._affect_model = None

    def __getstate__(self) -> dict:
        return {"path": self.path, "affect_model_path": self.affect_model_path, "device": self.device}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["path"], state["affect_model_path"], state["device"])

    @property
    def affect_model(self):
        """The affect model whose VA classes the builder plans as targets."""
        from affect.gallery.affect_model import AffectModel

        if self._affect_model is None:
            if self.affect_model_path is None:
                raise ValueError(f"{self.path}: this augmenter was made without an affect model; pass affect_model")
            self._affect_model = AffectModel.load(self.affect_model_path)
        return self._affect_model

    def prepare(self, image: np.ndarray, landmarks: np.ndarray | None) -> tuple:
        """Find the face (the database's landmarks, else dlib's) and align its crop once per photo."""
        from affect.face.landmarks import landmarks_for

        points = landmarks_for(image, landmarks)
        matrix = alignment_matrix(points, self.size, MARGIN)
        crop = cv2.warpAffine(
            image, matrix, (self.size, self.size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE
        )
        moved = points @ matrix[:, :2].T + matrix[:, 2]
        return image, matrix, crop, face_mask(moved, crop.shape[:2], FEATHER * self.size)

    @torch.no_grad()
    def edit_crop(self, crop: np.ndarray, va: tuple[float, float]) -> np.ndarray:
        """The generator's output for one (S, S, 3) uint8 crop and a VA target, (S, S, 3) uint8."""
        x = torch.from_numpy(crop).permute(2, 0, 1)[None].float().div(127.5).sub(1).to(self.device)
        c = torch.tensor([va], dtype=torch.float32, device=self.device)
        out = self.model.translate(x, c)[0][0]
        return ((out.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).cpu().numpy()

    def synthesize(self, state: tuple, target: Any, seed: int) -> np.ndarray:
        """The photo with its face edited towards ``target``'s VA (the generators are deterministic).

        Raises
        ------
        ValueError
            For a basic-expression target: the baselines are conditioned on valence and arousal.
        """
        if target.expression is not None:
            raise ValueError(
                f"{self.method}: conditioned on valence and arousal; cannot synthesize the "
                f"expression {target.expression!r}"
            )
        image, matrix, crop, mask = state
        edited = self.edit_crop(crop, (float(target.valence), float(target.arousal)))
        return paste_back(image, edited, matrix, mask)


def gan_augmenter(
    method: str,
    affect_model: str | os.PathLike,
    *,
    profile: Profile,
    gallery_source: str = "proxy",
    seed: int = 0,
    generator: str | os.PathLike | None = None,
    device: str = "cpu",
    progress: bool = False,
) -> GANAugmenter:
    """The augmenter of GAN baseline ``method`` ('stargan' or 'ganimation') for a run.

    Parameters
    ----------
    method : {'stargan', 'ganimation'}
    affect_model : path
        The run's affect model file (its VA classes are the targets).
    profile, gallery_source, seed :
        The run: they choose the trained generator (trained on the gallery if absent,
        :func:`affect.learning.gans.training.trained_generator`).
    generator : path, optional
        A ``generator.pt`` instead of the run's.
    device : str
        Where the GAN trains and runs ('auto' trains on a GPU when there is one).
    """
    from affect.learning.gans.training import trained_generator

    if generator is None:
        generator = trained_generator(
            method, profile=profile, gallery_source=gallery_source, seed=seed, device=device, progress=progress
        )
    return GANAugmenter(generator, affect_model, device="cpu" if device == "auto" else device)
