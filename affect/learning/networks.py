"""The networks of Sec. 6.2 and 6.5: VGG-FACE, VGG-FACE-GRU (AffWildNet), ResNet-GRU, AlexNet,
and the WideResNet age estimator.

Every network is built from torchvision's constructors (VGG-16's configuration ``D`` through
:func:`torchvision.models.vgg.make_layers`, ``resnet50``, ``alexnet``) with two knobs from the
run profile: the input size and a channel-width multiplier (1.0 is the published network).
torchvision ships no VGG-Face weights and the kit downloads nothing: :func:`load_pretrained`
maps a file the user holds (a converted VGG-Face state dict in any of the public key layouts,
or a torchvision ImageNet file) onto a built network. A network without such a file starts
from scratch, and ``network.weights`` says so.

Inputs are RGB crops scaled to [-1, 1], as AffWildNet's ``(x - 128) / 128`` (the transforms
of :mod:`affect.learning.transforms` do this). Outputs:

- task ``'va'``: (valence, arousal), bounded to [-1, 1] by ``tanh`` (Sec. 6.2.1.1: the
  annotations lie in [-1, 1]);
- task ``'expression'``: unnormalised logits over the database's classes;
- task ``'age'``: unnormalised logits over the ages 0 to 100 in years (DEX's 101 one-year
  bins, docs/networks.md 5); :func:`expected_age` turns them into years.

Frame networks map ``(B, 3, H, W)`` to ``(B, K)``; recurrent networks map
``(B, T, 3, H, W)`` to ``(B, T, K)``, one output per frame.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import torch
import torchvision
from torch import nn
from torchvision.models.resnet import Bottleneck, ResNet
from torchvision.models.vgg import VGG, make_layers

from affect.vocabulary import N_LANDMARKS

__all__ = [
    "NETWORKS",
    "AFFECT_NETWORKS",
    "RECURRENT",
    "TASKS",
    "FrameNetwork",
    "RecurrentNetwork",
    "LoadedWeights",
    "build_network",
    "load_pretrained",
    "minimum_input_size",
    "count_parameters",
    "WideResNet",
    "AGES",
    "expected_age",
]

NETWORKS = ("vggface", "vggface_gru", "resnet_gru", "alexnet", "vggface_bu3dfe", "wideresnet")
#: The networks of Tables 2 to 9 (``affect train``); the age estimator has its own entry point.
AFFECT_NETWORKS = NETWORKS[:-1]
RECURRENT = ("vggface_gru", "resnet_gru")
TASKS = ("va", "expression", "age")
#: The age bins of the estimator, years: DEX's 0 to 100 (docs/networks.md 5).
AGES = 101

# VGG-16 = configuration "D" of torchvision (13 convolutions in blocks of 2, 2, 3, 3, 3),
# the layout of VGG-Face (Parkhi et al. 2015).
_VGG16 = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")
_VGG_FC = 4096  # fc6 and fc7 of VGG-Face
_BU3DFE_FC = (256, 128)  # Sec. 6.2.2.2: "256 and 128 units in the two fully connected layers"
_ALEXNET_FC = 4096
_RESNET_FEATURES = 2048  # ResNet-50's pooled feature, whatever the bottleneck width
_MIN_SIZE = {"alexnet": 63, "wideresnet": 16}  # AlexNet's third max-pool needs a 3x3 map: 63 px input at least
_WRN_DEPTH, _WRN_WIDEN = 16, 8  # WRN-16-8, yu4u's default (docs/networks.md 5)


class FrameNetwork(nn.Module):
    """A convolutional network scoring one image: backbone features, then a linear head.

    Parameters
    ----------
    name, task : str
        One of :data:`NETWORKS` (not recurrent) and one of :data:`TASKS`.
    backbone : nn.Module
        A torchvision model whose last classification layer was removed; ``(B, 3, H, W)``
        to ``(B, F)``.
    features : int
        F, the width of the backbone's output.
    outputs : int
        2 for ``'va'``, the number of classes for ``'expression'``.
    """

    def __init__(self, name: str, task: str, backbone: nn.Module, features: int, outputs: int):
        super().__init__()
        self.name, self.task, self.outputs = name, task, outputs
        self.weights = "from scratch"
        self.backbone = backbone
        self.head = nn.Linear(features, outputs)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) float in [-1, 1] -> (B, K): VA in [-1, 1] or class logits."""
        return _activate(self.head(self.backbone(images)), self.task)


class RecurrentNetwork(nn.Module):
    """A CNN on every frame, a GRU over the clip, one output per frame.

    VGG-FACE-GRU (AffWildNet, Tables 2 and 5; Sec. 6.2.1.2, refs. [29, 30]) and ResNet-GRU
    (Table 3). The GRU's state starts at zero in every clip (docs/networks.md 1.1).

    Parameters
    ----------
    name, task : str
    backbone : nn.Module
        Per-frame encoder, ``(N, 3, H, W)`` to ``(N, F)``.
    features : int
        F.
    outputs : int
        2 for ``'va'``, the number of classes for ``'expression'``.
    hidden_size, num_layers : int
        GRU sizes (AffWildNet: 128 units, 2 layers).
    landmarks : bool
        Whether 68 landmarks per frame are a second input. The paper's AffWildNet took them
        (Sec. 6.2.1.2) without saying where; here they join the CNN features before the GRU
        (a kit choice).
    """

    def __init__(
        self,
        name: str,
        task: str,
        backbone: nn.Module,
        features: int,
        outputs: int,
        *,
        hidden_size: int,
        num_layers: int,
        landmarks: bool = False,
    ):
        super().__init__()
        self.name, self.task, self.outputs = name, task, outputs
        self.weights = "from scratch"
        self.uses_landmarks = landmarks
        self.backbone = backbone
        extra = 2 * N_LANDMARKS if landmarks else 0
        self.gru = nn.GRU(features + extra, hidden_size, num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, outputs)

    def forward(self, clips: torch.Tensor, landmarks: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T, 3, H, W) float in [-1, 1] [, (B, T, 68, 2) in [-1, 1]] -> (B, T, K)."""
        batch, time = clips.shape[:2]
        frames = self.backbone(clips.flatten(0, 1)).unflatten(0, (batch, time))  # (B, T, F)
        if self.uses_landmarks:
            if landmarks is None:
                raise ValueError(f"{self.name}: built with landmarks=True, so forward needs landmarks")
            frames = torch.cat([frames, landmarks.flatten(2).to(frames.dtype)], dim=2)
        hidden, _ = self.gru(frames)  # (B, T, hidden_size)
        return _activate(self.head(hidden), self.task)


def _activate(outputs: torch.Tensor, task: str) -> torch.Tensor:
    # VA annotations lie in [-1, 1] (Sec. 6.2.1.1); logits stay raw for cross-entropy.
    return torch.tanh(outputs) if task == "va" else outputs


def _scaled(channels: int, width: float) -> int:
    return max(1, int(round(channels * width)))


def _pooled_side(input_size: int, pools: int = 5) -> int:
    side = input_size
    for _ in range(pools):
        side //= 2  # MaxPool2d(2, 2) floors; at even sizes it equals TF 'SAME' (docs/networks.md 1.1)
    return side


def _vgg_backbone(
    input_size: int, width: float, fc: tuple[int, ...], dropout: float, batch_norm: bool = False
) -> tuple[nn.Module, int]:
    """VGG-16 convolutions and ``len(fc)`` fully connected layers; returns (module, out width).

    ``batch_norm`` puts a batch normalisation after each convolution (torchvision's
    ``vgg16_bn`` layout).

    torchvision's ``AdaptiveAvgPool2d(7)`` is the identity at 224 px but silently copies a
    3 x 3 pool5 (96 px input) into 7 x 7 (docs/networks.md 2), so it is replaced by the identity
    and fc6 takes the true flattened size (4608 at 96 px, as AffWildNet's).
    """
    config = [c if c == "M" else _scaled(c, width) for c in _VGG16]
    with torch.device("meta"):  # VGG() always makes a 120 M-parameter classifier: never allocate it
        vgg = VGG(make_layers(config, batch_norm=batch_norm), init_weights=False)
        vgg.avgpool = nn.Identity()
        flat = config[-2] * _pooled_side(input_size) ** 2
        layers: list[nn.Module] = []
        for size in fc:  # Linear-ReLU-Dropout, so fc6, fc7 sit at torchvision's classifier.0, .3
            layers += [nn.Linear(flat, size), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            flat = size
        vgg.classifier = nn.Sequential(*layers)
    return _materialised(vgg, _vgg_init), flat


def _vgg_init(module: nn.Module) -> None:
    """torchvision's VGG initialisation (``init_weights=True``), layer by layer."""
    if isinstance(module, nn.Conv2d):
        nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, 0, 0.01)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        module.reset_parameters()  # scale 1, shift 0, fresh running statistics


def _default_init(module: nn.Module) -> None:
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        module.reset_parameters()


def _materialised(module: nn.Module, init) -> nn.Module:
    """Allocate a module built on the meta device and initialise it.

    It goes to the caller's default device, so ``with torch.device('meta'):`` around
    :func:`build_network` sizes a paper-scale network without allocating it.
    """
    module = module.to_empty(device=torch.get_default_device())
    with torch.no_grad():
        module.apply(init)
    return module


def _alexnet_backbone(input_size: int, width: float, dropout: float) -> tuple[nn.Module, int]:
    """torchvision's AlexNet with its adaptive pool removed; ``width`` scales fc6 and fc7 only."""
    with torch.device("meta"):  # skip allocating torchvision's 58 M-parameter classifier
        alexnet = torchvision.models.alexnet(weights=None, dropout=dropout)
        alexnet.avgpool = nn.Identity()  # same pitfall as VGG: it would replicate small maps to 6 x 6
        flat = alexnet.features(torch.zeros(1, 3, input_size, input_size)).numel()
        fc = _scaled(_ALEXNET_FC, width)
        # torchvision's classifier: Dropout, fc6, ReLU, Dropout, fc7, ReLU, fc8; fc8 becomes the head.
        alexnet.classifier = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(flat, fc),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(fc, fc),
            nn.ReLU(inplace=True),
        )
    return _materialised(alexnet, _default_init), fc


def _resnet_backbone(width: float) -> tuple[nn.Module, int]:
    """ResNet-50 pooled to 2048 per image; ``width`` scales the bottleneck width.

    This is torchvision's ``width_per_group`` (64 in ResNet-50, 128 in Wide ResNet-50-2): the
    block outputs, hence the 2048-d feature and the ImageNet keys, keep their names.
    """
    resnet = ResNet(Bottleneck, [3, 4, 6, 3], width_per_group=_scaled(64, width))
    resnet.fc = nn.Identity()
    return resnet, _RESNET_FEATURES


class _PreActBlock(nn.Module):
    """A pre-activation basic block of WideResNet: BN-ReLU-conv3x3, BN-ReLU-conv3x3, plus a shortcut.

    torchvision has only the ImageNet bottleneck WideResNet (``wide_resnet50_2``); the age
    estimator is Zagoruyko & Komodakis's CIFAR-style network (docs/networks.md 5), so its two-conv
    block is written here.
    """

    def __init__(self, inputs: int, outputs: int, stride: int):
        super().__init__()
        self.bn1, self.conv1 = nn.BatchNorm2d(inputs), nn.Conv2d(inputs, outputs, 3, stride, 1, bias=False)
        self.bn2, self.conv2 = nn.BatchNorm2d(outputs), nn.Conv2d(outputs, outputs, 3, 1, 1, bias=False)
        self.shortcut = None if inputs == outputs and stride == 1 else nn.Conv2d(inputs, outputs, 1, stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        activated = torch.relu(self.bn1(x))
        out = self.conv2(torch.relu(self.bn2(self.conv1(activated))))
        # The projection takes the activated input, as in the WRN paper's code.
        return out + (x if self.shortcut is None else self.shortcut(activated))


class WideResNet(nn.Module):
    """WRN-depth-k (Zagoruyko & Komodakis 2016): the feature extractor of the age estimator.

    Sec. 6.5 trains "a Wide Residual Network" on IMDB and Adience without giving its size;
    docs/networks.md 5 takes yu4u's WRN-16-8 at 64 px: a 3x3 convolution of 16 channels, then three
    groups of ``(depth - 4) / 6`` pre-activation blocks of 16k, 32k, 64k channels at strides 1, 2,
    2, BN-ReLU and a global average pool (yu4u's commit aa273f0) to ``(B, 64k)``.

    Parameters
    ----------
    depth : int
        6n + 4 (16 in the paper profile).
    widen : int
        k (8 in the paper profile).
    """

    def __init__(self, depth: int = 16, widen: int = 8):
        super().__init__()
        if (depth - 4) % 6 or depth < 10:
            raise ValueError(f"depth: WideResNet needs 6n + 4 layers (10, 16, 22, 28, ...), got {depth}")
        blocks = (depth - 4) // 6
        widths = [16, 16 * widen, 32 * widen, 64 * widen]
        layers: list[nn.Module] = [nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)]
        for group, stride in zip(range(3), (1, 2, 2)):
            for b in range(blocks):
                layers.append(
                    _PreActBlock(
                        widths[group] if b == 0 else widths[group + 1], widths[group + 1], stride if b == 0 else 1
                    )
                )
        layers += [nn.BatchNorm2d(widths[3]), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.layers = nn.Sequential(*layers)
        self.features = widths[3]
        for module in self.modules():  # He-normal initialisation (docs/networks.md 5)
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) float in [-1, 1] -> (B, 64k) pooled features."""
        return self.layers(images)


def expected_age(logits: torch.Tensor) -> torch.Tensor:
    """DEX's estimate: the expected age under the softmax over 0 to 100 years (docs/networks.md 5).

    Parameters
    ----------
    logits : (..., 101) float

    Returns
    -------
    (...) float, years in [0, 100].
    """
    ages = torch.arange(logits.shape[-1], dtype=logits.dtype, device=logits.device)
    return torch.softmax(logits, dim=-1) @ ages


def minimum_input_size(name: str) -> int:
    """Smallest square input (px) the network accepts: 32 for VGG and ResNet, 63 for AlexNet, 16 for WideResNet."""
    return _MIN_SIZE.get(name, 32)


def build_network(
    name: str,
    task: str,
    *,
    input_size: int,
    width: float = 1.0,
    n_classes: int | None = None,
    hidden_size: int = 128,
    num_layers: int = 2,
    landmarks: bool = False,
    dropout: float = 0.5,
    batch_norm: bool = False,
) -> FrameNetwork | RecurrentNetwork:
    """Build one of the paper's networks, from scratch, at a given input size and width.

    Sec. 6.2: ``vggface`` (Tables 4, 6 to 8), ``vggface_gru`` (AffWildNet, Tables 2 and 5:
    VGG-FACE convolutions, one fully connected layer, a 2-layer GRU), ``resnet_gru``
    (Table 3: ResNet-50, a 2-layer GRU), ``alexnet`` (AffectNet's baseline [42], Tables 4
    and 7) and ``vggface_bu3dfe`` (Table 9: fully connected layers of 256 and 128 units,
    convolutions frozen, Sec. 6.2.2.2). Sec. 6.5: ``wideresnet``, the age estimator
    (:class:`WideResNet`, WRN-16-8 at ``width`` 1.0; ``task='age'`` only, 101 age logits
    without bias, as yu4u's ``pred_age``).

    Parameters
    ----------
    name : str
        One of :data:`NETWORKS`.
    task : {'va', 'expression', 'age'}
        Two outputs in [-1, 1], logits over ``n_classes`` classes, or logits over the
        :data:`AGES` ages (``wideresnet`` only).
    input_size : int
        Side of the square input crops, px (paper: 224 for VGG-FACE, 96 for AffWildNet).
    width : float
        Channel-width multiplier of the convolutions and fully connected layers; 1.0 is the
        published network (AlexNet: fully connected layers only; ResNet: bottlenecks only;
        WideResNet: k = 8 x width, at least 1).
    n_classes : int, optional
        Number of expression classes; required when ``task == 'expression'``.
    hidden_size, num_layers : int
        GRU sizes of the recurrent networks (AffWildNet: 128, 2).
    landmarks : bool
        ``vggface_gru`` only: take 68 landmarks per frame as a second input.
    dropout : float
        Dropout after each fully connected layer (0.5 in VGG-Face and AffWildNet).
    batch_norm : bool
        VGG networks only: batch normalisation after each convolution. Plain VGG-16 learns
        little from scratch on a few thousand faces (the kit's stand-ins: the loss of the
        expression networks stayed at log K), so networks trained without pretrained weights
        use it; the published layout, without it, is the one VGG-Face weights load into.

    Returns
    -------
    FrameNetwork or RecurrentNetwork, with ``weights == 'from scratch'``.
    """
    _check_arguments(name, task, input_size, width, n_classes, landmarks)
    if name == "wideresnet":
        backbone = WideResNet(_WRN_DEPTH, max(1, int(round(_WRN_WIDEN * width))))
        network = FrameNetwork(name, task, backbone, backbone.features, AGES)
        network.head = nn.Linear(backbone.features, AGES, bias=False)  # yu4u's Dense(101) has no bias
        return network
    outputs = 2 if task == "va" else int(n_classes)
    if name in ("vggface", "vggface_bu3dfe", "vggface_gru"):
        fc = {"vggface": (_VGG_FC, _VGG_FC), "vggface_bu3dfe": _BU3DFE_FC, "vggface_gru": (_VGG_FC,)}[name]
        fc = fc if name == "vggface_bu3dfe" else tuple(_scaled(size, width) for size in fc)
        backbone, features = _vgg_backbone(input_size, width, fc, dropout, batch_norm)
        if name == "vggface_bu3dfe":
            backbone.features.requires_grad_(False)  # Sec. 6.2.2.2: only the FC layers learn
    elif name == "alexnet":
        backbone, features = _alexnet_backbone(input_size, width, dropout)
    else:
        backbone, features = _resnet_backbone(width)
    if name in RECURRENT:
        return RecurrentNetwork(
            name, task, backbone, features, outputs, hidden_size=hidden_size, num_layers=num_layers, landmarks=landmarks
        )
    return FrameNetwork(name, task, backbone, features, outputs)


def _check_arguments(name, task, input_size, width, n_classes, landmarks) -> None:
    if name not in NETWORKS:
        raise ValueError(f"name: unknown network {name!r}; known: {', '.join(NETWORKS)}")
    if task not in TASKS:
        raise ValueError(f"task: {task!r} is not one of {TASKS}")
    if (task == "age") != (name == "wideresnet"):
        raise ValueError(f"task: the age estimator is 'wideresnet' with task 'age', got {name!r} with {task!r}")
    if task == "expression" and (n_classes is None or n_classes < 2):
        raise ValueError(f"n_classes: task 'expression' needs at least 2 classes, got {n_classes}")
    if not isinstance(input_size, int) or input_size < minimum_input_size(name):
        raise ValueError(f"input_size: {name} needs at least {minimum_input_size(name)} px, got {input_size}")
    if not 0 < width <= 4:
        raise ValueError(f"width: expected a multiplier in (0, 4], got {width}")
    if landmarks and name != "vggface_gru":
        raise ValueError(f"landmarks: only vggface_gru takes landmarks, not {name}")


def count_parameters(network: nn.Module, trainable: bool = False) -> int:
    """Number of parameters (only those that learn, if ``trainable``)."""
    return sum(p.numel() for p in network.parameters() if p.requires_grad or not trainable)


# --------------------------------------------------------------------------- #
# Pretrained weights: the user's files, mapped onto the built networks
# --------------------------------------------------------------------------- #


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


def load_pretrained(network: FrameNetwork | RecurrentNetwork, path: str | os.PathLike) -> LoadedWeights:
    """Copy the weights of a user-held file into a built network (nothing is downloaded).

    Accepted files: a VGG-Face state dict converted by pytorch-mcn (``conv1_1``, ``fc6``),
    PyVGGFace (``features.conv_1_1``, ``fc.fc6``) or from ``VGG_FACE.t7`` (``conv_1_1``,
    ``fc6``), or a torchvision ImageNet file (``vgg16``, ``alexnet``, ``resnet50``); a dict
    holding the state dict under ``'state_dict'`` also works. Layers are matched by
    position (13 convolutions, then the linear layers), as the t7 converters do. Every
    convolution must fit; a fully connected layer of another size (fc6 below 224 px, the
    BU-3DFE network's 256 and 128 units) and the last classifier (2622 identities, 1000
    ImageNet classes) keep their built values and are listed in ``kept``.

    Parameters
    ----------
    network : FrameNetwork or RecurrentNetwork
        From :func:`build_network`; ``network.weights`` is set to the returned ``source``.
    path : path
        A ``.pth`` / ``.pt`` file saved with ``torch.save``.

    Returns
    -------
    LoadedWeights

    Raises
    ------
    ValueError
        One line naming the file: unreadable, not a state dict, or keys or shapes that do
        not fit this network.
    """
    path = Path(path)
    state = _read_state_dict(path)
    family = "resnet" if network.name == "resnet_gru" else "alexnet" if network.name == "alexnet" else "vgg"
    if family == "vgg":
        mapped, layout = _map_vgg(state, path)
    else:
        mapped, layout = _map_torchvision(state, path, family)
    loaded, kept = _copy_into(network.backbone, mapped, path, layout)
    source = f"{path.name} ({layout} layout)"
    network.weights = source
    return LoadedWeights(source, tuple(f"backbone.{k}" for k in loaded), tuple(kept))


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise ValueError(f"{path}: weights file not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for a non-checkpoint file
        raise ValueError(f"{path}: not a torch state dict ({type(error).__name__})") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path}: not a state dict of tensors")
    return state


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
    slots, index = [], 0
    for entry in _VGG16:
        if entry != "M":
            slots.append(index)
        index += 1 if entry == "M" else 2
    return slots


def _map_torchvision(state: dict[str, torch.Tensor], path: Path, family: str) -> tuple[dict[str, torch.Tensor], str]:
    """A torchvision ImageNet file: keys already match the backbone; the final classifier goes."""
    final = {"resnet": "fc.", "alexnet": "classifier.6."}[family]
    expected = {"resnet": "layer1.0.conv1.weight", "alexnet": "features.0.weight"}[family]
    if expected not in state:
        raise ValueError(f"{path}: no key {expected!r}: not a torchvision {family} state dict")
    mapped = {k: v for k, v in state.items() if not k.startswith(final)}
    return mapped, f"torchvision {'resnet50' if family == 'resnet' else family}"


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
