"""Tests for affect.learning.networks: output shapes, the adaptive-pool fix, the paper-scale sizes."""

import pytest
import torch

from affect.learning.networks import build_network, count_parameters, freeze_convolutions

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


def test_bu3dfe_network_has_256_128_fc_and_freezes_convolutions_only_when_asked():
    net = build_network("vggface_bu3dfe", "expression", n_classes=7, **TINY)
    fc = [m.out_features for m in net.backbone.classifier if isinstance(m, torch.nn.Linear)]
    assert fc == [256, 128]
    assert count_parameters(net, trainable=True) == count_parameters(net)  # from scratch: all learn
    freeze_convolutions(net)
    assert not any(p.requires_grad for p in net.backbone.features.parameters())
    assert 0 < count_parameters(net, trainable=True) < count_parameters(net)


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
