"""Tests for scripts/convert_vggface.py on tiny releases of each layout: keys, channel order, mean."""

import importlib.util
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from affect.learning.networks import build_network
from affect.learning.pretrained import load_pretrained

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "convert_vggface.py"
TINY = dict(input_size=32, width=0.0625)
_MCN_CONVS = ["1_1", "1_2", "2_1", "2_2", "3_1", "3_2", "3_3", "4_1", "4_2", "4_3", "5_1", "5_2", "5_3"]


@pytest.fixture(scope="module")
def converter():
    spec = importlib.util.spec_from_file_location("convert_vggface", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass resolves annotations through sys.modules
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def _release_layers(seed=0):
    """Random (weight, bias) of the 13 convolutions and 3 linear layers of a tiny VGG-Face."""
    generator = torch.Generator().manual_seed(seed)
    reference = build_network("vggface", "va", **TINY)
    convs = [m for m in reference.backbone.features if isinstance(m, torch.nn.Conv2d)]
    linears = [m for m in reference.backbone.classifier if isinstance(m, torch.nn.Linear)]
    shapes = [(c.weight.shape, c.bias.shape) for c in convs]
    shapes += [(m.weight.shape, m.bias.shape) for m in linears] + [((5, linears[-1].out_features), (5,))]
    return [(torch.randn(w, generator=generator), torch.randn(b, generator=generator)) for w, b in shapes]


def _kit_image(seed=1, size=32):
    """(0-255 RGB image, the kit's network input of it): (1, 3, S, S) each."""
    rgb = torch.as_tensor(np.random.default_rng(seed).uniform(0, 255, (1, 3, size, size)), dtype=torch.float32)
    return rgb, (rgb - 128) / 128


def _inner(tensor):
    return tensor[:, :, 1:-1, 1:-1]


def test_pytorch_mcn_release_converts_with_its_rgb_mean(converter, tmp_path):
    layers = _release_layers()
    names = [f"conv{n}" for n in _MCN_CONVS] + ["fc6", "fc7", "fc8"]
    state = {f"{name}.{kind}": t for name, layer in zip(names, layers) for kind, t in zip(("weight", "bias"), layer)}
    mean = (120.0, 110.0, 100.0)  # the file's own meta wins over the published mean
    torch.save({**state, "meta": {"mean": list(mean), "std": [1.0, 1.0, 1.0]}}, tmp_path / "vgg_face_dag.pth")
    out, error = converter.convert(tmp_path / "vgg_face_dag.pth", tmp_path / "kit.pth")
    assert error < 1e-6

    network = build_network("vggface", "va", **TINY)
    report = load_pretrained(network, out)
    assert "VGG-Face, pytorch-mcn vgg_face_dag.pth" in report.source and "RGB mean folded" in report.source
    rgb, kit_input = _kit_image()
    theirs = F.conv2d(rgb - torch.tensor(mean).view(1, 3, 1, 1), *layers[0], padding=1)  # MatConvNet: RGB
    ours = network.backbone.features[0](kit_input)
    assert torch.allclose(_inner(ours), _inner(theirs), rtol=1e-4, atol=1e-3)
    assert torch.equal(network.backbone.features[2].weight, layers[1][0])  # later layers copied as they are
    assert torch.equal(network.backbone.classifier[3].weight, layers[14][0])


def test_luatorch_release_converts_from_bgr(converter, tmp_path, monkeypatch):
    layers = _release_layers(seed=2)
    modules = []
    for index, (weight, bias) in enumerate(layers):
        stored = weight.reshape(weight.shape[0], -1) if index < 13 else weight  # SpatialConvolutionMM: 2D
        modules += [types.SimpleNamespace(weight=stored.numpy(), bias=bias.numpy()), types.SimpleNamespace()]
    fake = types.SimpleNamespace(load=lambda path: types.SimpleNamespace(modules=modules))
    monkeypatch.setitem(sys.modules, "torchfile", fake)
    (tmp_path / "VGG_FACE.t7").write_bytes(b"")
    out, error = converter.convert(tmp_path / "VGG_FACE.t7", tmp_path / "kit.pth")
    assert error < 1e-6

    network = build_network("vggface_gru", "va", **TINY)
    load_pretrained(network, out)
    rgb, kit_input = _kit_image()
    bgr_centred = (rgb - torch.tensor(converter.MEAN_RGB).view(1, 3, 1, 1))[:, [2, 1, 0]]  # Caffe's order
    theirs = F.conv2d(bgr_centred, *layers[0], padding=1)
    assert torch.allclose(_inner(network.backbone.features[0](kit_input)), _inner(theirs), rtol=1e-4, atol=1e-3)
    # Taking the t7 file as RGB would not match: the channel order matters.
    rgb_centred = rgb - torch.tensor(converter.MEAN_RGB).view(1, 3, 1, 1)
    assert not torch.allclose(_inner(F.conv2d(rgb_centred, *layers[0], padding=1)), _inner(theirs), atol=1.0)


def test_t7_without_torchfile_and_a_foreign_file_fail_with_one_line(converter, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torchfile", None)  # import fails
    (tmp_path / "VGG_FACE.t7").write_bytes(b"")
    with pytest.raises(SystemExit) as exit_code:
        converter.main([str(tmp_path / "VGG_FACE.t7"), str(tmp_path / "out.pth")])
    assert exit_code.value.code == 1
    message = capsys.readouterr().err
    assert "VGG_FACE.t7: reading LuaTorch files needs the torchfile package" in message
    assert message.count("\n") == 1
    torch.save({"encoder.weight": torch.zeros(2)}, tmp_path / "other.pth")
    with pytest.raises(SystemExit):
        converter.main([str(tmp_path / "other.pth"), str(tmp_path / "out.pth")])
    assert "other.pth: key 'encoder.weight' is not a layer of pytorch-mcn" in capsys.readouterr().err
    assert not (tmp_path / "out.pth").exists()
