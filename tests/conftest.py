"""Fixtures shared by the test folders: torchvision's ImageNet file of VGG-16 in a temporary torch cache."""

import pytest


def _no_download(url, path, progress=True):
    raise OSError("offline")


@pytest.fixture
def imagenet_vgg16(tmp_path, monkeypatch):
    """torchvision's VGG-16 ImageNet file (its 13 convolutions at width 1, random values) placed in
    a temporary ``$TORCH_HOME/hub/checkpoints``; downloads fail. Returns its state dict."""
    import torch

    from affect.learning.networks import build_network

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", _no_download)
    donor = build_network("vggface", "va", input_size=32, width=1.0)
    state = {f"features.{k}": v for k, v in donor.backbone.features.state_dict().items()}
    cached = tmp_path / "torch" / "hub" / "checkpoints" / "vgg16-397923af.pth"  # torchvision's own name
    cached.parent.mkdir(parents=True)
    torch.save(state, cached)
    return state
