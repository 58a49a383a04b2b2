"""Pretrained weights of the networks of Tables 2 to 9: which network starts from what, and the loading.

- :class:`Weights`: the run's setting, one source per network, parsed once at the edge
  (``WEIGHTS`` of the Makefile, ``--weights``, the notebooks' ``weights``) by
  :func:`parse_weights`. A source is a file the user holds or ``'imagenet'``: torchvision's
  published ImageNet weights of the network's architecture (``IMAGENET1K_V1``), fetched by
  torchvision into its cache. One file alone goes to the networks its layout fits.
- :func:`load_pretrained`: a source's tensors mapped onto a built network: a VGG-Face state dict
  in any public key layout (docs/networks.md 2), a file written by ``scripts/convert_vggface.py``
  or a torchvision ImageNet file (``vgg16``, ``alexnet``, ``resnet50``).
- :func:`network_width`: the width a network is built at: the published one (:data:`PUBLISHED_WIDTH`)
  when it gets pretrained weights, whatever the profile, else the profile's.
- :func:`read_weights_file`: a file read without running code (``torch.load`` with
  ``weights_only=True``, or safetensors); a file that would run code when loaded is refused.

The VGG-Face weights are licensed for non-commercial research and the kit ships none.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

if TYPE_CHECKING:
    import torch
    from torch import nn

    from affect.learning.networks import FrameNetwork, RecurrentNetwork

__all__ = [
    "IMAGENET",
    "PUBLISHED_WIDTH",
    "Weights",
    "network_width",
    "parse_weights",
    "LoadedWeights",
    "load_pretrained",
    "read_weights_file",
    "file_architecture",
    "imagenet_file",
    "label_start",
]

#: The source naming torchvision's published ImageNet weights of a network's architecture.
IMAGENET = "imagenet"
#: The channel-width multiplier of the published networks, the only one their weights fit.
PUBLISHED_WIDTH = 1.0


def _networks():
    """The network tables, imported when needed: :mod:`affect.learning.networks` imports torch,
    and :mod:`affect.run` imports this module."""
    from affect.learning import networks

    return networks


def _expected() -> str:
    names = ", ".join(_networks().AFFECT_NETWORKS)
    return f"a weights file, {IMAGENET!r}, or NAME=SOURCE pairs (NAME one of {names}; SOURCE a file or {IMAGENET!r})"


@dataclass(frozen=True)
class Weights:
    """Where each network of Tables 2 to 9 starts from: a file, ImageNet, or scratch.

    Attributes
    ----------
    sources : tuple of (str, str)
        ``(network, source)`` pairs in :data:`affect.learning.networks.AFFECT_NETWORKS` order;
        a source is an absolute file path or :data:`IMAGENET`.
    file : str or None
        One file for every network its layout fits (:func:`file_architecture`); the others
        start from scratch. Set only when ``sources`` is empty.
    """

    sources: tuple[tuple[str, str], ...] = ()
    file: str | None = None

    def source(self, network: str) -> str | None:
        """The source of ``network``: a file, :data:`IMAGENET`, or None (from scratch)."""
        if self.file is not None:
            return self.file if file_architecture(self.file) == _networks().ARCHITECTURES.get(network) else None
        return dict(self.sources).get(network)

    def __bool__(self) -> bool:
        return bool(self.sources) or self.file is not None

    def __str__(self) -> str:
        """The setting as :func:`parse_weights` reads it back (absolute paths); '' from scratch."""
        return self.file or " ".join(f"{name}={source}" for name, source in self.sources)

    def note(self, networks: list[str]) -> str:
        """A table note for a single file that does not fit all of ``networks``; '' otherwise."""
        if self.file is None:
            return ""
        names = _networks().PAPER_NAMES
        others = [names[n] for n in dict.fromkeys(networks) if n in names and self.source(n) is None]
        if not others:
            return ""
        return (
            f"The weights file {Path(self.file).name} holds {file_architecture(self.file)} weights, so "
            f"{', '.join(others)} trained from scratch (set NAME=SOURCE pairs to give each network its own)."
        )


def network_width(profile_width: float, pretrained: bool) -> float:
    """The channel-width multiplier to build a network at: :data:`PUBLISHED_WIDTH` when it
    starts from pretrained weights (they fit the published networks only), else the profile's.

    So every profile takes pretrained weights; the profile still sets everything else (input
    size, batch, epochs), and the networks that start from scratch keep its width.
    """
    return PUBLISHED_WIDTH if pretrained else profile_width


def parse_weights(value: str | os.PathLike | Mapping[str, str] | Weights | None) -> Weights:
    """Read the weights setting: None, one file, ``'imagenet'`` or ``NAME=SOURCE`` pairs.

    Parameters
    ----------
    value
        None (every network from scratch); a file path (its layout decides which networks it
        fits); ``'imagenet'`` (every network from torchvision's ImageNet weights); a string of
        whitespace-separated pairs such as ``'vggface=vgg_face.pth resnet_gru=imagenet
        alexnet=imagenet'``, or a mapping of the same; or a :class:`Weights`.

    Raises
    ------
    ValueError
        One line: ``weights: expected ..., got ...`` for a bad pair, an unknown network, a
        network named twice or a file that does not exist.
    """
    if value is None or isinstance(value, Weights):
        return value or Weights()
    if isinstance(value, Mapping):
        pairs = [(str(k), str(v)) for k, v in value.items()]
    elif isinstance(value, (str, os.PathLike)):
        text = os.fspath(value).strip()
        if not text:
            return Weights()
        if Path(text).is_file() or not any("=" in token for token in text.split()):
            if text == IMAGENET:
                return Weights(tuple((name, IMAGENET) for name in _networks().AFFECT_NETWORKS))
            return Weights(file=_existing(text, text))
        pairs = []
        for token in text.split():
            name, sep, source = token.partition("=")
            if not sep or not name or not source:
                raise ValueError(f"weights: expected {_expected()}, got {token!r}")
            pairs.append((name, source))
    else:
        raise ValueError(f"weights: expected {_expected()}, got {value!r}")
    known = _networks().AFFECT_NETWORKS
    sources: dict[str, str] = {}
    for name, source in pairs:
        if name not in known:
            raise ValueError(f"weights: expected NAME one of {', '.join(known)}, got {name!r}")
        if name in sources:
            raise ValueError(f"weights: expected each network once, got {name!r} twice")
        sources[name] = source if source == IMAGENET else _existing(source, f"{name}={source}")
    return Weights(tuple((name, sources[name]) for name in known if name in sources))


def _existing(path: str, given: str) -> str:
    if not Path(path).is_file():
        raise ValueError(f"weights: expected an existing weights file, got {given!r} (not found)")
    return str(Path(path).resolve())


# --- reading a file without running code ---------------------------------------------------------


def read_weights_file(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict]:
    """The tensors of a weights file and its ``meta`` entry (empty when it has none).

    ``.safetensors`` files are read with safetensors (its metadata is the meta); any other
    file with ``torch.load(..., weights_only=True)``, which unpickles only tensors and plain
    containers. A dict holding the tensors under ``'state_dict'`` also works.

    Raises
    ------
    ValueError
        ``<file>: <problem>``: not found, refused (unpickling it would run code), not a torch
        file, or not a state dict of tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: weights file not found")
    if path.suffix == ".safetensors":
        return _read_safetensors(path)
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for a non-checkpoint file
        if "Weights only load failed" in str(error):
            raise ValueError(
                f"{path}: refused: unpickling it would run code or build objects other than tensors "
                "(only state dicts saved with torch.save load)"
            ) from None
        raise ValueError(f"{path}: not a torch state dict ({type(error).__name__})") from None
    meta = state.get("meta") if isinstance(state, dict) else None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if isinstance(state, dict):
        state = {k: v for k, v in state.items() if k != "meta"}
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path}: not a state dict of tensors")
    return state, meta if isinstance(meta, dict) else {}


def _read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    try:
        from safetensors import safe_open
    except ImportError:
        raise ValueError(f"{path}: reading .safetensors needs the safetensors package") from None
    try:
        with safe_open(str(path), framework="pt") as file:
            return {key: file.get_tensor(key) for key in file.keys()}, dict(file.metadata() or {})
    except Exception as error:
        raise ValueError(f"{path}: not a safetensors file ({type(error).__name__})") from None


def file_architecture(path: str | os.PathLike) -> str:
    """The torchvision architecture a weights file fits: ``'vgg16'``, ``'resnet50'`` or ``'alexnet'``.

    Read from its keys (VGG-Face's conversions count as ``vgg16``); ValueError names a file
    that fits none.
    """
    stat = Path(path).stat()
    return _architecture(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _architecture(path: str, mtime_ns: int, size: int) -> str:
    state, _ = read_weights_file(path)
    if "layer1.0.conv1.weight" in state:
        return "resnet50"
    if any(_VGGFACE_CONV.match(k) for k in state) or "features.28.weight" in state:
        return "vgg16"
    if "features.10.weight" in state:
        return "alexnet"
    raise ValueError(f"{path}: neither a VGG-16 / VGG-Face, a ResNet-50 nor an AlexNet state dict")


# --- torchvision's ImageNet weights ---------------------------------------------------------------


def imagenet_file(architecture: str, *, progress: bool = False) -> Path:
    """torchvision's ImageNet file of ``architecture`` in torch's hub cache, downloaded if absent.

    The file is the one torchvision itself fetches for ``<Architecture>_Weights.IMAGENET1K_V1``
    (``$TORCH_HOME/hub/checkpoints/<name>``); it is read like any user file
    (:func:`read_weights_file`).

    Raises
    ------
    ValueError
        One line naming the cache file to place by hand when it cannot be downloaded.
    """
    import torch
    import torchvision

    url = torchvision.models.get_model_weights(architecture).IMAGENET1K_V1.url
    path = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(url).path)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            torch.hub.download_url_to_file(url, str(path), progress=progress)
        except Exception as error:  # offline: URLError, a proxy's HTTPError, a timeout
            raise ValueError(
                f"{path}: torchvision's ImageNet weights of {architecture} are not cached and the download "
                f"failed ({type(error).__name__}); fetch {url} on a machine with internet and place it there"
            ) from None
    return path


# --- mapping a file onto a network ------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedWeights:
    """What :func:`load_pretrained` copied from a file.

    Attributes
    ----------
    source : str
        The file and its layout, e.g. ``'vgg_face_dag.pth (VGG-Face, pytorch-mcn layout)'``.
    loaded : tuple of str
        Parameter names of the network that received weights.
    kept : tuple of str
        Parameters left as built, each with the reason (a classifier layer of another size,
        the identity or ImageNet classes).
    """

    source: str
    loaded: tuple[str, ...]
    kept: tuple[str, ...]


# Conv / linear naming of the public VGG-Face conversions (docs/networks.md 2): pytorch-mcn
# "conv1_1", "fc6"; PyVGGFace "features.conv_1_1", "fc.fc6"; prlz77 "conv_1_1", "fc6".
_VGGFACE_CONV = re.compile(r"^(?:features\.)?conv_?(\d)_(\d)\.(weight|bias)$")
_VGGFACE_FC = re.compile(r"^(?:fc\.)?fc([678])\.(weight|bias)$")
_TORCHVISION = re.compile(r"^(features|classifier)\.(\d+)\.(weight|bias)$")
_VGG_LAYOUTS = {
    "torchvision": "torchvision vgg16",
    "conv1_1": "pytorch-mcn",
    "features.conv_1_1": "PyVGGFace",
    "conv_1_1": "prlz77",
}


def load_pretrained(
    network: FrameNetwork | RecurrentNetwork, source: str | os.PathLike, *, progress: bool = False
) -> LoadedWeights:
    """Copy pretrained weights into a built network.

    Accepted sources: :data:`IMAGENET` (torchvision's ImageNet file of the network's
    architecture, :func:`imagenet_file`); a VGG-Face state dict converted by pytorch-mcn
    (``conv1_1``, ``fc6``), PyVGGFace (``features.conv_1_1``, ``fc.fc6``) or from
    ``VGG_FACE.t7`` (``conv_1_1``, ``fc6``); a file of ``scripts/convert_vggface.py``; or a
    torchvision ImageNet file (``vgg16``, ``alexnet``, ``resnet50``). Layers are matched by
    position (13 convolutions, then the linear layers), as the t7 converters do. Every
    convolution must fit; a fully connected layer of another size (fc6 below 224 px, the
    BU-3DFE network's 256 and 128 units) and the last classifier (2622 identities, 1000
    ImageNet classes) keep their built values and are listed in ``kept``.

    Parameters
    ----------
    network : FrameNetwork or RecurrentNetwork
        From :func:`affect.learning.networks.build_network`; ``network.weights`` is set to the
        returned ``source``.
    source : path or 'imagenet'
        A ``.pth`` / ``.pt`` file saved with ``torch.save`` (or ``.safetensors``).

    Returns
    -------
    LoadedWeights

    Raises
    ------
    ValueError
        One line naming the file: unreadable, refused, not a state dict, or keys or shapes that
        do not fit this network.
    """
    architecture = _networks().ARCHITECTURES[network.name]
    imagenet = os.fspath(source) == IMAGENET
    path = imagenet_file(architecture, progress=progress) if imagenet else Path(source)
    state, meta = read_weights_file(path)
    if architecture == "vgg16":
        mapped, layout = _map_vgg(state, path)
    else:
        mapped, layout = _map_torchvision(state, path, architecture)
    loaded, kept = _copy_into(network.backbone, mapped, path, layout)
    label = label_start(network.name, source)
    if not imagenet:
        label += f"{meta['source']})" if isinstance(meta.get("source"), str) else f"{layout} layout)"
    network.weights = label
    return LoadedWeights(label, tuple(f"backbone.{k}" for k in loaded), tuple(kept))


def label_start(network: str, source: str | os.PathLike | None) -> str:
    """How the label :func:`load_pretrained` gives ``source`` starts (the whole label for ImageNet
    and from scratch); what a saved run's ``pretrained`` is checked against."""
    if source is None:
        return "from scratch"
    if os.fspath(source) == IMAGENET:
        return f"ImageNet (torchvision {_networks().ARCHITECTURES[network]} IMAGENET1K_V1)"
    return f"{Path(source).name} ("


def _map_vgg(state: dict[str, torch.Tensor], path: Path) -> tuple[dict[str, torch.Tensor], str]:
    """Rename a VGG-16 / VGG-Face state dict to torchvision's ``features.N`` / ``classifier.N``."""
    convs: dict[tuple[int, int], dict[str, torch.Tensor]] = {}
    linears: dict[int, dict[str, torch.Tensor]] = {}
    layout = None
    for key, value in state.items():
        if match := _VGGFACE_CONV.match(key):
            convs.setdefault((int(match[1]), int(match[2])), {})[match[3]] = value
            layout = layout or (
                "features.conv_1_1"
                if key.startswith("features.")
                else "conv_1_1"
                if key.startswith("conv_")
                else "conv1_1"
            )
        elif match := _VGGFACE_FC.match(key):
            linears.setdefault(int(match[1]), {})[match[2]] = value
        elif match := _TORCHVISION.match(key):
            group = convs if match[1] == "features" else linears
            group.setdefault((int(match[2]), 0) if match[1] == "features" else int(match[2]), {})[match[3]] = value
            layout = layout or "torchvision"
        else:
            raise ValueError(f"{path}: key {key!r} is not a VGG-16 / VGG-Face layer")
    if len(convs) != 13:
        raise ValueError(f"{path}: expected the 13 convolutions of VGG-16, found {len(convs)}")
    mapped = {}
    for slot, key in zip(_conv_slots(), sorted(convs)):
        mapped.update({f"features.{slot}.{kind}": v for kind, v in convs[key].items()})
    for slot, key in zip((0, 3, 6), sorted(linears)):
        for kind, value in linears[key].items():
            # One public copy stores fc6 as (4096, 512, 7, 7); C.H.W flatten order (docs/networks.md 2).
            mapped[f"classifier.{slot}.{kind}"] = value.flatten(1) if value.ndim > 2 else value
    return mapped, f"VGG-Face, {_VGG_LAYOUTS[layout]}" if layout != "torchvision" else _VGG_LAYOUTS[layout]


def _conv_slots() -> list[int]:
    """Indices of the 13 convolutions in torchvision's VGG-16 ``features`` (each conv is
    followed by a ReLU, each block by a max-pool): 0, 2, 5, 7, 10, ..., 28."""
    from torchvision.models.vgg import cfgs

    slots, index = [], 0
    for entry in cfgs["D"]:  # VGG-16: 13 convolutions in blocks of 2, 2, 3, 3, 3
        if entry != "M":
            slots.append(index)
        index += 1 if entry == "M" else 2
    return slots


def _map_torchvision(
    state: dict[str, torch.Tensor], path: Path, architecture: str
) -> tuple[dict[str, torch.Tensor], str]:
    """A torchvision ImageNet file: keys already match the backbone; the final classifier goes."""
    final = {"resnet50": "fc.", "alexnet": "classifier.6."}[architecture]
    expected = {"resnet50": "layer1.0.conv1.weight", "alexnet": "features.0.weight"}[architecture]
    if expected not in state:
        raise ValueError(f"{path}: no key {expected!r}: not a torchvision {architecture} state dict")
    mapped = {k: v for k, v in state.items() if not k.startswith(final)}
    return mapped, f"torchvision {architecture}"


def _copy_into(
    backbone: nn.Module, mapped: dict[str, torch.Tensor], path: Path, layout: str
) -> tuple[list[str], list[str]]:
    """Copy fitting tensors; convolutions (and batch norms) must fit, linear layers may not."""
    own = backbone.state_dict()
    loaded, kept = [], []
    for key, value in mapped.items():
        target = own.get(key)
        linear = key.startswith("classifier.")
        if target is None:
            if linear:
                kept.append(f"{key}: not in this network")
                continue
            raise ValueError(f"{path}: key {key!r} ({layout} layout) has no place in this network")
        if target.shape != value.shape:
            if linear:
                kept.append(f"backbone.{key}: built {tuple(target.shape)}, file {tuple(value.shape)}")
                continue
            raise ValueError(
                f"{path}: {key} has shape {tuple(value.shape)}, this network needs "
                f"{tuple(target.shape)} (another width or network?)"
            )
        own[key] = value.to(target.dtype)
        loaded.append(key)
    missing = [k for k in own if k not in mapped and not k.startswith("classifier.") and "num_batches" not in k]
    if missing:
        raise ValueError(f"{path}: {len(missing)} layers of this network are not in the file (first: {missing[0]})")
    backbone.load_state_dict(own)
    return loaded, kept
