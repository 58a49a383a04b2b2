"""The GAN baselines of Sec. 6.1.2: StarGAN and GANimation conditioned on valence and arousal.

- :mod:`~affect.learning.gans.layers`: the condition tiled over the image, the shared generator
  body, the PatchGAN discriminator with its VA regression head.
- :mod:`~affect.learning.gans.losses`: WGAN-GP, VA regression, cycle, attention and smoothness.
- :mod:`~affect.learning.gans.stargan`, :mod:`~affect.learning.gans.ganimation`: the two models.
- :mod:`~affect.learning.gans.faces`: training crops rendered from the 4D gallery's frames.
- :mod:`~affect.learning.gans.training`: Lightning training, checkpoints, curves, samples.
- :mod:`~affect.learning.gans.augmenter`: a trained generator as an augmenter of
  :mod:`affect.augmentation` (edits the aligned crop, pastes it back into the photo), and
  :func:`~affect.learning.gans.augmenter.gan_augmenter`, a run's baseline augmenter.

Submodules import torch; this package itself does not.
"""
