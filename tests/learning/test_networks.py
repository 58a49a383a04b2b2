"""Tests for affect.learning.networks: output shapes, the adaptive-pool fix, weight-key layouts."""

import re

import pytest
import torch

from affect.learning.networks import build_network, count_parameters, load_pretrained

TINY = dict(input_size=32, width=0.0625)


def _first(tensor):
    return tensor.detach().flatten()[0].item()


def _clips(batch=2, time=3, size=32):
    return torch.rand(batch, time, 3, size, size) * 2 - 1


@pytest.mark.parametrize("name", ["vggface", "vggface_bu3dfe"])
def test_frame_vgg_networks_give_bounded_va_and_class_logits(name):
    images = torch.rand(4, 3, 32, 32) * 2 - 1
    va = build_network(name, "va", **TINY).eval()
    logits = build_network(name, "expression", n_classes=7, **TINY).eval()
    out = va(images)
    assert out.shape == (4, 2) and out.abs().max() <= 1
    assert logits(images).shape == (4, 7)


def test_alexnet_shapes_at_its_smallest_input_and_refuses_smaller():
    net = build_network("alexnet", "expression", input_size=64, width=0.0625, n_classes=8).eval()
    assert net(torch.zeros(2, 3, 64, 64)).shape == (2, 8)
    with pytest.raises(ValueError, match="alexnet needs at least 63 px"):
        build_network("alexnet", "va", input_size=32)


@pytest.mark.parametrize("name", ["vggface_gru", "resnet_gru"])
def test_recurrent_networks_give_one_output_per_frame(name):
    net = build_network(name, "va", hidden_size=8, num_layers=2, **TINY).eval()
    out = net(_clips())
    assert out.shape == (2, 3, 2) and out.abs().max() <= 1
    classes = build_network(name, "expression", n_classes=7, hidden_size=8, **TINY).eval()
    assert classes(_clips()).shape == (2, 3, 7)


def test_vggface_gru_takes_landmarks_as_second_input():
    net = build_network("vggface_gru", "va", landmarks=True, hidden_size=8, **TINY).eval()
    landmarks = torch.rand(2, 3, 68, 2) * 2 - 1
    assert net(_clips(), landmarks).shape == (2, 3, 2)
    with pytest.raises(ValueError, match="needs landmarks"):
        net(_clips())
    assert net.gru.input_size == net.backbone.classifier[0].out_features + 136


def test_recurrent_frames_do_not_see_the_future():
    net = build_network("vggface_gru", "va", hidden_size=8, **TINY).eval()
    clips = _clips(1, 4)
    changed = clips.clone()
    changed[:, 3] = -changed[:, 3]
    with torch.no_grad():
        a, b = net(clips), net(changed)
    torch.testing.assert_close(a[:, :3], b[:, :3])


def test_96_px_vgg_has_affwildnet_fc6_of_4608_inputs_not_an_upsampled_7x7():
    with torch.device("meta"):
        net = build_network("vggface_gru", "va", input_size=96, width=1.0)
    assert isinstance(net.backbone.avgpool, torch.nn.Identity)
    assert net.backbone.classifier[0].in_features == 512 * 3 * 3
    assert net.backbone.classifier[0].out_features == 4096


def test_paper_size_vggface_has_vgg16_parameter_count():
    with torch.device("meta"):  # sized, not allocated
        net = build_network("vggface", "expression", input_size=224, width=1.0, n_classes=2622)
    # torchvision vgg16(num_classes=2622) has exactly VGG-Face's shapes (docs/networks.md 2).
    assert count_parameters(net) == 145_002_878


def test_bu3dfe_network_freezes_convolutions_and_has_256_128_fc():
    net = build_network("vggface_bu3dfe", "expression", n_classes=7, **TINY)
    fc = [m.out_features for m in net.backbone.classifier if isinstance(m, torch.nn.Linear)]
    assert fc == [256, 128]
    assert not any(p.requires_grad for p in net.backbone.features.parameters())
    assert count_parameters(net, trainable=True) < count_parameters(net)


def test_new_network_reports_from_scratch():
    assert build_network("vggface", "va", **TINY).weights == "from scratch"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(name="vgg19", task="va"), "unknown network"),
        (dict(name="vggface", task="age"), "task"),
        (dict(name="vggface", task="expression"), "n_classes"),
        (dict(name="vggface", task="va", landmarks=True), "only vggface_gru"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_network(**kwargs, **TINY)


# --------------------------------------------------------------------------- weights

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


@pytest.mark.parametrize("name", ["vggface", "vggface_gru", "resnet_gru", "alexnet"])
def test_paper_profile_builds_every_network_at_the_paper_sizes(name):
    from affect import profiles
    from affect.learning.training import input_size

    sizes = profiles.get("paper").training
    with torch.device("meta"):  # sized, not allocated: no forward pass at 224 px on a CPU
        net = build_network(
            name,
            "va",
            input_size=input_size(name, sizes),
            width=sizes.width,
            hidden_size=sizes.gru_hidden,
            num_layers=sizes.gru_layers,
        )
    if name == "vggface_gru":  # AffWildNet: 96 px, fc6 of 4608 -> 4096, GRU 2 x 128
        assert net.backbone.classifier[0].in_features == 4608 and net.gru.hidden_size == 128
    if name == "vggface":
        assert net.backbone.classifier[0].in_features == 25088
    assert count_parameters(net) > 10_000_000


def test_wideresnet_age_estimator_has_wrn_16_8s_size_and_101_age_logits():
    from affect.learning.networks import AGES, expected_age

    network = build_network("wideresnet", "age", input_size=64, width=1.0)
    assert 10_900_000 < count_parameters(network) < 11_100_000  # WRN-16-8: about 11.0 M parameters
    assert network.head.bias is None and network.head.out_features == AGES == 101
    small = build_network("wideresnet", "age", input_size=32, width=0.125)  # k = 1
    logits = small(torch.zeros(3, 3, 32, 32))
    assert logits.shape == (3, 101)
    ages = expected_age(torch.tensor([[0.0] * 101, [-1e4] * 40 + [1e4] + [-1e4] * 60]))
    assert ages.tolist() == pytest.approx([50.0, 40.0])


def test_the_age_task_belongs_to_the_wideresnet_only():
    with pytest.raises(ValueError, match="age estimator"):
        build_network("vggface", "age", input_size=32)
    with pytest.raises(ValueError, match="age estimator"):
        build_network("wideresnet", "va", input_size=32)
