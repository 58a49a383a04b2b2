"""Convert a published VGG-Face release into the kit's VGG-16 layout and input convention.

VGG-Face (Parkhi, Vedaldi & Zisserman, BMVC 2015) is the pretrained network of the paper's
VGG-FACE rows (Tables 2 and 4 to 9). Its weights are licensed for non-commercial research, so
the kit ships none; the user downloads one of two releases and converts it here
(docs/networks.md 2 and 8):

* the pytorch-mcn port ``vgg_face_dag.pth`` (``robots.ox.ac.uk/~albanie/models/pytorch-mcn``):
  a state dict with keys ``conv1_1`` ... ``conv5_3``, ``fc6``, ``fc7``, ``fc8``, converted from
  MatConvNet, whose networks take **RGB** images on 0-255 minus the mean
  (129.186, 104.762, 93.594) with unit std. A ``meta`` entry with ``mean`` / ``std``, if the
  file has one, overrides these;
* the LuaTorch release ``VGG_FACE.t7`` (the VGG-Face page, read with the ``torchfile``
  package): converted from Caffe, so its first convolution takes **BGR** images, with the same
  mean per colour (R 129.186, G 104.762, B 93.594).

The kit's networks take RGB crops scaled to [-1, 1] (``(x - 128) / 128``, as AffWildNet). The
converter folds each release's channel order, mean and std into ``conv1_1``: for kit input
x, the colour value is v = 128 x + 128, so the weight of colour c becomes
``128 * W[:, j(c)] / std_c`` (j(c) the channel of colour c in the release's order) and the
bias gains ``sum_c sum_kernel W[:, j(c)] * (128 - mean_c) / std_c``. Away from the image border
the converted first layer gives exactly the release's output; on the one-pixel border the
zero padding means grey (128) instead of the mean colour. After converting, the script checks
this on a random image and prints the largest difference.

The output is a ``torch.save`` dict ``{'state_dict': ..., 'meta': {...}}`` with torchvision's
``vgg16`` keys (``features.N``, ``classifier.N``), loadable with ``weights_only=True``; use it
as ``WEIGHTS=vggface=vgg_face_kit.pth`` (or for ``vggface_gru`` and ``vggface_bu3dfe``)::

    python scripts/convert_vggface.py vgg_face_dag.pth vgg_face_kit.pth
    python scripts/convert_vggface.py VGG_FACE.t7 vgg_face_kit.pth

Without ``torchfile`` (``pip install torchfile``) the t7 file cannot be read; convert the
pytorch-mcn release instead (the same network).
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

#: VGG-Face's mean colour on 0-255 values, (R, G, B) (docs/networks.md 2).
MEAN_RGB = (129.1863, 104.7624, 93.5940)
#: Indices of the 13 convolutions and 3 linear layers in torchvision's ``vgg16``.
_CONV_SLOTS = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
_FC_SLOTS = (0, 3, 6)
_KIT_SCALE = 128.0  # the kit's input: (v - 128) / 128 on 0-255 RGB values
_MCN_CONV = re.compile(r"^conv(\d)_(\d)\.(weight|bias)$")
_MCN_FC = re.compile(r"^fc([678])\.(weight|bias)$")


@dataclass(frozen=True)
class Release:
    """One VGG-Face release: its layers in order and the input they expect.

    Attributes
    ----------
    convs, linears : list of (weight, bias)
        The 13 convolutions ``(out, in, 3, 3)`` and the 3 linear layers ``(out, in)``.
    order : {'RGB', 'BGR'}
        The colour of each input channel of the first convolution.
    mean_rgb, std_rgb : tuple of 3 float
        Per colour, R, G, B, on 0-255 values.
    name : str
        The release, for the output's ``meta['source']``.
    """

    convs: list[tuple[torch.Tensor, torch.Tensor]]
    linears: list[tuple[torch.Tensor, torch.Tensor]]
    order: str
    mean_rgb: tuple[float, float, float]
    std_rgb: tuple[float, float, float]
    name: str


def read_mcn(path: Path) -> Release:
    """The pytorch-mcn ``vgg_face_dag.pth``: RGB, its ``meta`` mean and std if it has them."""
    from affect.learning.pretrained import read_weights_file

    state, meta = read_weights_file(path)
    convs: dict[tuple[int, int], dict[str, torch.Tensor]] = {}
    linears: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in state.items():
        if match := _MCN_CONV.match(key):
            convs.setdefault((int(match[1]), int(match[2])), {})[match[3]] = value
        elif match := _MCN_FC.match(key):
            linears.setdefault(int(match[1]), {})[match[2]] = value
        else:
            raise ValueError(f"{path}: key {key!r} is not a layer of pytorch-mcn's vgg_face_dag")
    if len(convs) != 13 or len(linears) != 3:
        raise ValueError(f"{path}: expected 13 convolutions and fc6 to fc8, found {len(convs)} and {len(linears)}")
    mean = tuple(float(v) for v in meta.get("mean", MEAN_RGB))
    std = tuple(float(v) for v in meta.get("std", (1.0, 1.0, 1.0)))
    return Release(
        [(convs[k]["weight"], convs[k]["bias"]) for k in sorted(convs)],
        [(linears[k]["weight"], linears[k]["bias"]) for k in sorted(linears)],
        "RGB",
        mean,
        std,
        f"VGG-Face, pytorch-mcn {path.name}",
    )


def read_t7(path: Path) -> Release:
    """The LuaTorch ``VGG_FACE.t7`` (Caffe's weights): BGR input, the mean per colour.

    Its layers carrying weights are taken in order, as ``prlz77/vgg-face.pytorch`` does:
    13 convolutions (``SpatialConvolutionMM`` keeps them as ``(out, in * 3 * 3)``), then 3
    linear layers.
    """
    try:
        import torchfile
    except ImportError:
        raise ValueError(
            f"{path}: reading LuaTorch files needs the torchfile package (pip install torchfile); "
            "or convert pytorch-mcn's vgg_face_dag.pth instead"
        ) from None
    model = torchfile.load(str(path))
    layers = [m for m in model.modules if getattr(m, "weight", None) is not None]
    if len(layers) != 16:
        raise ValueError(f"{path}: expected 16 layers with weights (13 convolutions, 3 linear), found {len(layers)}")
    convs, linears = [], []
    for index, layer in enumerate(layers):
        weight = torch.as_tensor(np.asarray(layer.weight), dtype=torch.float32)
        bias = torch.as_tensor(np.asarray(layer.bias), dtype=torch.float32)
        if index < 13:
            inputs = weight[0].numel() // 9
            convs.append((weight.reshape(weight.shape[0], inputs, 3, 3), bias))
        else:
            linears.append((weight.reshape(weight.shape[0], -1), bias))
    return Release(convs, linears, "BGR", MEAN_RGB, (1.0, 1.0, 1.0), f"VGG-Face, LuaTorch {path.name}")


def read_release(path: Path) -> Release:
    """A ``.t7`` file through :func:`read_t7`, any other through :func:`read_mcn`."""
    return read_t7(path) if path.suffix == ".t7" else read_mcn(path)


def _colour_channels(order: str) -> list[int]:
    """For R, G, B: the input channel of the release that carries it."""
    return [order.index(colour) for colour in "RGB"]


def fold_input(release: Release) -> tuple[torch.Tensor, torch.Tensor]:
    """``conv1_1``'s weight and bias for the kit's RGB input in [-1, 1] (see the module docstring)."""
    weight, bias = release.convs[0]
    weight, bias = weight.double(), bias.double()
    channels = _colour_channels(release.order)
    folded = torch.empty_like(weight)
    shift = bias.clone()
    for colour, channel in enumerate(channels):
        std, mean = release.std_rgb[colour], release.mean_rgb[colour]
        folded[:, colour] = _KIT_SCALE * weight[:, channel] / std
        shift += weight[:, channel].sum(dim=(1, 2)) * (_KIT_SCALE - mean) / std
    return folded.float(), shift.float()


def kit_state(release: Release) -> dict[str, torch.Tensor]:
    """The release as torchvision ``vgg16`` keys, ``conv1_1`` folded for the kit's input."""
    state = {}
    for index, (slot, (weight, bias)) in enumerate(zip(_CONV_SLOTS, release.convs)):
        if index == 0:
            weight, bias = fold_input(release)
        state[f"features.{slot}.weight"], state[f"features.{slot}.bias"] = weight.float(), bias.float()
    for slot, (weight, bias) in zip(_FC_SLOTS, release.linears):
        # fc6 flattens pool5 in C.H.W order in every release (docs/networks.md 2).
        state[f"classifier.{slot}.weight"] = weight.float().flatten(1)
        state[f"classifier.{slot}.bias"] = bias.float()
    return state


def check_fold(release: Release, state: dict[str, torch.Tensor], size: int = 16, seed: int = 0) -> float:
    """Largest difference of ``conv1_1`` outputs away from the border: the release on its own
    preprocessing (channel order, mean, std) against the converted layer on the kit's input."""
    rng = np.random.default_rng(seed)
    rgb = torch.as_tensor(rng.uniform(0, 255, (1, 3, size, size)), dtype=torch.float64)
    mean = torch.tensor(release.mean_rgb, dtype=torch.float64).view(1, 3, 1, 1)
    std = torch.tensor(release.std_rgb, dtype=torch.float64).view(1, 3, 1, 1)
    theirs_input = ((rgb - mean) / std)[:, ["RGB".index(colour) for colour in release.order]]
    weight, bias = release.convs[0]
    theirs = F.conv2d(theirs_input, weight.double(), bias.double(), padding=1)
    ours = F.conv2d((rgb - _KIT_SCALE) / _KIT_SCALE, state["features.0.weight"].double(), None, padding=1)
    ours = ours + state["features.0.bias"].double().view(1, -1, 1, 1)
    inner = (slice(None), slice(None), slice(1, -1), slice(1, -1))
    return float((theirs[inner] - ours[inner]).abs().max() / theirs[inner].abs().max())


def convert(source: Path, output: Path) -> tuple[Path, float]:
    """Convert ``source`` and write ``output``; returns (output, :func:`check_fold`'s relative error)."""
    release = read_release(source)
    state = kit_state(release)
    error = check_fold(release, state)
    meta = {
        "source": f"{release.name}, converted: {release.order} mean folded into conv1_1 for RGB input in [-1, 1]",
        "order": release.order,
        "mean_rgb": list(release.mean_rgb),
        "std_rgb": list(release.std_rgb),
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": state, "meta": meta}, output)
    return output, error


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Convert a VGG-Face release (pytorch-mcn vgg_face_dag.pth or LuaTorch VGG_FACE.t7) "
        "into the kit's VGG-16 layout, its channel order and mean folded into the first convolution."
    )
    parser.add_argument("source", type=Path, help="vgg_face_dag.pth or VGG_FACE.t7")
    parser.add_argument("output", type=Path, help="the converted file to write (.pth)")
    args = parser.parse_args(argv)
    try:
        path, error = convert(args.source, args.output)
    except (OSError, ValueError) as failure:
        parser.exit(1, f"convert_vggface: error: {failure}\n")
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB); conv1_1 against the release: relative error {error:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
