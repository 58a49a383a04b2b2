"""Tests for affect.learning.pretrained: the weights setting, files read without running code,
every public VGG-Face layout, torchvision's ImageNet files from torch's cache."""

import pickle
import re
from pathlib import Path

import pytest
import torch

from affect.learning.networks import build_network
from affect.learning.pretrained import (
    IMAGENET,
    Weights,
    file_architecture,
    imagenet_file,
    load_pretrained,
    parse_weights,
    read_weights_file,
)

TINY = dict(input_size=32, width=0.0625)


def _first(tensor):
    return tensor.detach().flatten()[0].item()


# --------------------------------------------------------------------------- key layouts

_CONV_NAMES = ["1_1", "1_2", "2_1", "2_2", "3_1", "3_2", "3_3", "4_1", "4_2", "4_3", "5_1", "5_2", "5_3"]
_TV_CONV = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]


def _layout_keys(layout):
    """(conv keys, fc keys) of one public VGG-Face conversion (docs/networks.md 2)."""
    if layout == "torchvision":
        return [f"features.{i}" for i in _TV_CONV], [f"classifier.{i}" for i in (0, 3, 6)]
    if layout == "pytorch-mcn":
        return [f"conv{n}" for n in _CONV_NAMES], ["fc6", "fc7", "fc8"]
    if layout == "PyVGGFace":
        return [f"features.conv_{n}" for n in _CONV_NAMES], ["fc.fc6", "fc.fc7", "fc.fc8"]
    return [f"conv_{n}" for n in _CONV_NAMES], ["fc6", "fc7", "fc8"]  # prlz77


def _vggface_file(tmp_path, layout, width=0.0625, input_size=32, fc6_4d=False):
    """A VGG-Face-shaped state dict in ``layout`` whose every tensor holds its layer number."""
    reference = build_network("vggface", "va", input_size=input_size, width=width)
    convs = [m for m in reference.backbone.features if isinstance(m, torch.nn.Conv2d)]
    linears = [m for m in reference.backbone.classifier if isinstance(m, torch.nn.Linear)]
    conv_keys, fc_keys = _layout_keys(layout)
    state = {}
    for number, (key, conv) in enumerate(zip(conv_keys, convs)):
        state[f"{key}.weight"] = torch.full_like(conv.weight, float(number))
        state[f"{key}.bias"] = torch.full_like(conv.bias, float(number))
    for number, (key, linear) in enumerate(zip(fc_keys, linears + [torch.nn.Linear(linears[-1].out_features, 5)])):
        weight = torch.full_like(linear.weight, 100.0 + number)
        if fc6_4d and number == 0:
            weight = weight.reshape(weight.shape[0], -1, input_size // 32, input_size // 32)
        state[f"{key}.weight"], state[f"{key}.bias"] = weight, torch.full_like(linear.bias, 100.0 + number)
    path = tmp_path / f"{layout}.pth"
    torch.save(state, path)
    return path


@pytest.mark.parametrize("layout", ["torchvision", "pytorch-mcn", "PyVGGFace", "prlz77"])
def test_vggface_weights_map_by_position_in_every_public_layout(tmp_path, layout):
    path = _vggface_file(tmp_path, layout)
    net = build_network("vggface", "va", **TINY)
    report = load_pretrained(net, path)
    convs = [m for m in net.backbone.features if isinstance(m, torch.nn.Conv2d)]
    assert [_first(c.weight) for c in convs] == list(range(13))
    assert _first(net.backbone.classifier[0].weight) == 100.0
    assert _first(net.backbone.classifier[3].bias) == 101.0
    assert any("classifier.6" in k for k in report.kept)  # fc8 scores 2622 identities
    assert net.weights == report.source and path.name in report.source
    if layout != "torchvision":
        assert layout in report.source


def test_fc6_stored_as_4d_is_flattened(tmp_path):
    path = _vggface_file(tmp_path, "pytorch-mcn", fc6_4d=True)
    net = build_network("vggface", "va", **TINY)
    load_pretrained(net, path)
    assert _first(net.backbone.classifier[0].weight) == 100.0


def test_fc6_of_another_input_size_is_kept_and_reported(tmp_path):
    path = _vggface_file(tmp_path, "prlz77", input_size=64)
    net = build_network("vggface_gru", "va", **TINY)
    report = load_pretrained(net, path)
    assert any("classifier.0.weight" in k for k in report.kept)
    assert _first(net.backbone.features[28].weight) == 12.0


def test_bu3dfe_network_takes_vggface_convolutions(tmp_path):
    net = build_network("vggface_bu3dfe", "expression", n_classes=7, **TINY)
    load_pretrained(net, _vggface_file(tmp_path, "PyVGGFace"))
    assert _first(net.backbone.features[0].weight) == 0.0


def test_weights_of_another_width_fail_with_one_line_naming_the_file(tmp_path):
    path = _vggface_file(tmp_path, "pytorch-mcn", width=0.125)
    with pytest.raises(ValueError, match=re.escape(str(path)) + r": features\.0\.weight has shape") as error:
        load_pretrained(build_network("vggface", "va", **TINY), path)
    assert "\n" not in str(error.value)


def test_unknown_keys_and_non_state_dicts_are_refused(tmp_path):
    odd = tmp_path / "odd.pth"
    torch.save({"encoder.layer.weight": torch.zeros(2)}, odd)
    with pytest.raises(ValueError, match="odd.pth: key 'encoder.layer.weight'"):
        load_pretrained(build_network("vggface", "va", **TINY), odd)
    text = tmp_path / "notes.pth"
    text.write_text("hello")
    with pytest.raises(ValueError, match="notes.pth: not a torch state dict"):
        load_pretrained(build_network("vggface", "va", **TINY), text)
    with pytest.raises(ValueError, match="missing.pth: weights file not found"):
        load_pretrained(build_network("vggface", "va", **TINY), tmp_path / "missing.pth")


def test_torchvision_imagenet_files_load_into_alexnet_and_resnet(tmp_path):
    alexnet_file = tmp_path / "alexnet.pth"
    torch.save(torchvision_state("alexnet"), alexnet_file)
    net = build_network("alexnet", "va", input_size=64, width=1.0)
    report = load_pretrained(net, alexnet_file)
    assert "torchvision alexnet" in report.source
    assert _first(net.backbone.features[0].weight) == 1.0
    resnet_file = tmp_path / "resnet50.pth"
    torch.save(torchvision_state("resnet50"), resnet_file)
    net = build_network("resnet_gru", "va", input_size=32, width=1.0, hidden_size=4)
    load_pretrained(net, resnet_file)
    assert _first(net.backbone.layer4[2].conv3.weight) == 1.0
    with pytest.raises(ValueError, match="resnet50.pth: .* has shape"):
        load_pretrained(build_network("resnet_gru", "va", input_size=32, width=0.25), resnet_file)


def torchvision_state(name):
    import torchvision

    model = getattr(torchvision.models, name)(weights=None)
    return {k: torch.ones_like(v) if v.is_floating_point() else v for k, v in model.state_dict().items()}


# --------------------------------------------------------------------------- reading without running code


class _TouchOnLoad:
    """Unpickling this object creates ``marker``: what a hostile weights file could do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_a_file_that_would_run_code_is_refused_and_nothing_runs(tmp_path, protocol):
    marker = tmp_path / "marker"
    hostile = tmp_path / "weights.pth"
    with open(hostile, "wb") as file:
        pickle.dump({"features.0.weight": _TouchOnLoad(marker)}, file, protocol=protocol)
    with pytest.raises(ValueError, match=re.escape(str(hostile)) + ": refused") as error:
        load_pretrained(build_network("vggface", "va", **TINY), hostile)
    assert "\n" not in str(error.value)
    assert not marker.exists()
    with pytest.raises(ValueError, match="refused"):
        parse_weights(hostile).source("vggface")  # a single file's layout is read the same way
    assert not marker.exists()


def test_a_torch_saved_dict_with_meta_gives_its_tensors_and_meta(tmp_path):
    path = tmp_path / "converted.pth"
    torch.save({"state_dict": {"a": torch.zeros(2)}, "meta": {"source": "from somewhere"}}, path)
    state, meta = read_weights_file(path)
    assert list(state) == ["a"] and meta == {"source": "from somewhere"}


# --------------------------------------------------------------------------- the setting


def test_pairs_parse_into_one_source_per_network(tmp_path):
    face = tmp_path / "vgg_face.pth"
    face.write_bytes(b"")
    weights = parse_weights(f"vggface={face} resnet_gru=imagenet  alexnet=imagenet")
    assert weights.source("vggface") == str(face.resolve())
    assert weights.source("resnet_gru") == IMAGENET and weights.source("alexnet") == IMAGENET
    assert weights.source("vggface_gru") is None
    assert parse_weights(str(weights)) == weights  # what the pipeline hands to each notebook
    assert parse_weights({"vggface": str(face), "alexnet": "imagenet"}) == parse_weights(
        f"alexnet=imagenet vggface={face}"
    )


def test_no_weights_and_imagenet_alone():
    assert not parse_weights(None) and not parse_weights("") and parse_weights(None) == Weights()
    assert parse_weights(None).source("vggface") is None and str(Weights()) == ""
    everywhere = parse_weights("imagenet")
    assert all(everywhere.source(n) == IMAGENET for n in ("vggface", "vggface_gru", "resnet_gru", "alexnet"))


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("vggface=", "got 'vggface='"),
        ("vggface=imagenet =imagenet", "got '=imagenet'"),
        ("wideresnet=imagenet", "NAME one of vggface, .*got 'wideresnet'"),
        ("alexnet=imagenet alexnet=imagenet", "each network once, got 'alexnet' twice"),
        ("vggface=missing.pth", "existing weights file, got 'vggface=missing.pth'"),
        ("missing.pth", "existing weights file, got 'missing.pth'"),
        (3, "got 3"),
    ],
)
def test_a_bad_setting_is_one_line_naming_weights(value, problem):
    with pytest.raises(ValueError, match="^weights: expected .*" + problem) as error:
        parse_weights(value)
    assert "\n" not in str(error.value)


def test_one_file_goes_to_the_networks_its_layout_fits(tmp_path):
    face = _vggface_file(tmp_path, "pytorch-mcn")
    weights = parse_weights(face)
    assert file_architecture(face) == "vgg16"
    assert {n: weights.source(n) for n in ("vggface", "vggface_gru", "vggface_bu3dfe")} == dict.fromkeys(
        ("vggface", "vggface_gru", "vggface_bu3dfe"), str(face.resolve())
    )
    assert weights.source("resnet_gru") is None and weights.source("alexnet") is None
    note = weights.note(["vggface_gru", "resnet_gru", "vggface_gru"])
    assert note.startswith("The weights file pytorch-mcn.pth holds vgg16 weights, so ResNet-GRU trained from scratch")
    assert weights.note(["vggface", "vggface_gru"]) == "" and parse_weights(None).note(["resnet_gru"]) == ""


# --------------------------------------------------------------------------- torchvision's ImageNet files


def test_imagenet_loads_torchvisions_file_from_the_hub_cache(tmp_path, monkeypatch):
    import torchvision

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    cached = tmp_path / "torch" / "hub" / "checkpoints" / "resnet50-0676ba61.pth"  # torchvision's own name
    cached.parent.mkdir(parents=True)
    torch.save(torchvision.models.resnet50(weights=None).state_dict(), cached)
    monkeypatch.setattr(torch.hub, "download_url_to_file", _no_download)
    assert imagenet_file("resnet50") == cached
    net = build_network("resnet_gru", "va", input_size=32, width=1.0, hidden_size=4)
    report = load_pretrained(net, IMAGENET)
    assert report.source == net.weights == "ImageNet (torchvision resnet50 IMAGENET1K_V1)"
    assert torch.equal(net.backbone.conv1.weight, torch.load(cached)["conv1.weight"])


def test_imagenet_offline_names_the_cache_file_to_place(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", _no_download)
    expected = tmp_path / "torch" / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth"
    with pytest.raises(ValueError, match=re.escape(str(expected)) + ": torchvision's ImageNet weights") as error:
        load_pretrained(build_network("alexnet", "va", input_size=64, width=1.0), IMAGENET)
    message = str(error.value)
    assert "\n" not in message and "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth" in message


def _no_download(url, dst, *args, **kwargs):
    from urllib.error import URLError

    raise URLError("no internet")
