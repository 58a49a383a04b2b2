"""Learning from the augmented data (Sec. 6.2 to 6.5): networks, prepared faces, training, evaluation.

- :mod:`affect.learning.networks`: VGG-FACE, VGG-FACE-GRU, ResNet-GRU, AlexNet and the BU-3DFE
  variant, built from torchvision, and the WideResNet age estimator.
- :mod:`affect.learning.pretrained`: where each network starts from (a file the user holds,
  torchvision's ImageNet weights, or scratch), read without running code and mapped onto the networks,
  which are built at the published width when they get weights.
- :mod:`affect.learning.transforms`: network inputs and Table 9's on-the-fly augmentation.
- :mod:`affect.learning.prepared`: face crops decoded once per split and cached on disk.
- :mod:`affect.learning.data`: torch datasets of frames, and of clips cut inside each video.
- :mod:`affect.learning.training`: one PyTorch Lightning engine for every table.
- :mod:`affect.learning.random_states`: every epoch's random draws from (seed, epoch), kept in checkpoints.
- :mod:`affect.learning.checkpoints`: the one reader of checkpoints and generator files (no code runs from them).
- :mod:`affect.learning.evaluation`: predictions kept as CSV, metrics with bootstrap intervals.
- :mod:`affect.learning.runs`: a run on one database (``affect prepare / train / evaluate``).
- :mod:`affect.learning.age_estimator`: Sec. 6.5's WideResNet age estimator (IMDB + Adience, WIKI).

Submodules import torch; this package itself does not, so ``import affect.learning`` is cheap.
"""
