"""Learning from the augmented data (Sec. 6.2 to 6.5): networks, prepared faces, training, evaluation.

- :mod:`affect.learning.networks`: VGG-FACE, VGG-FACE-GRU, ResNet-GRU, AlexNet and the BU-3DFE
  variant, built from torchvision; the user's pretrained weights mapped onto them.
- :mod:`affect.learning.transforms`: network inputs and Table 9's on-the-fly augmentation.
- :mod:`affect.learning.prepared`: face crops decoded once per split and cached on disk.
- :mod:`affect.learning.training`: one PyTorch Lightning engine for every table.
- :mod:`affect.learning.evaluation`: predictions kept as CSV, metrics with bootstrap intervals.

Submodules import torch; this package itself does not, so ``import affect.learning`` is cheap.
"""
