"""The networks of Sec. 6.2 and 6.5: VGG-FACE, VGG-FACE-GRU (AffWildNet), ResNet-GRU, AlexNet,
and the WideResNet age estimator.

Every network is built from torchvision's constructors (VGG-16's configuration ``D`` through
:func:`torchvision.models.vgg.make_layers`, ``resnet50``, ``alexnet``) with two knobs from the
run profile: the input size and a channel-width multiplier (1.0 is the published network).
A network starts from scratch (``network.weights`` says so); :mod:`affect.learning.pretrained`
copies pretrained weights into it.

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
    "PAPER_NAMES",
    "ARCHITECTURES",
    "build_network",
    "freeze_convolutions",
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
#: The networks of Tables 2 to 9 as the paper names them (table titles, notes).
PAPER_NAMES = {
    "vggface": "VGG-FACE",
    "vggface_gru": "VGG-FACE-GRU",
    "resnet_gru": "ResNet-GRU",
    "alexnet": "AlexNet",
    "vggface_bu3dfe": "VGG-FACE (FC 256/128)",
}
#: The torchvision architecture whose convolutions each network of Tables 2 to 9 shares.
ARCHITECTURES = {
    "vggface": "vgg16",
    "vggface_gru": "vgg16",
    "vggface_bu3dfe": "vgg16",
    "resnet_gru": "resnet50",
    "alexnet": "alexnet",
}
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
    Sec. 6.2.2.2; :func:`freeze_convolutions` then freezes pretrained convolutions).
    Sec. 6.5: ``wideresnet``, the age estimator (:class:`WideResNet`, WRN-16-8 at ``width``
    1.0; ``task='age'`` only, 101 age logits without bias, as yu4u's ``pred_age``).

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


def freeze_convolutions(network: FrameNetwork | RecurrentNetwork) -> None:
    """Stop the convolutions of a VGG network from learning: only its FC layers and head train.

    Table 9's network keeps pretrained VGG-FACE convolutions fixed (Sec. 6.2.2.2); frozen
    convolutions from scratch would be random features, so training calls this only on
    pretrained weights (docs/networks.md 8.2).
    """
    network.backbone.features.requires_grad_(False)
