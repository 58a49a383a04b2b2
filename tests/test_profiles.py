"""Run profiles: the stand-in sizes each profile gives the databases."""

import pytest

from affect import profiles
from affect.datasets.proxy import TABLE_1_SIZES


def test_default_sizes_name_the_small_databases():
    default = profiles.get("default")
    assert profiles.data_scale(default, TABLE_1_SIZES["rafdb"], "rafdb") * TABLE_1_SIZES["rafdb"] == pytest.approx(1000)
    # BU-3DFE: 25 images a subject, 2 subjects per fold of the 10-fold protocol
    assert profiles.data_scale(default, TABLE_1_SIZES["bu3dfe"], "bu3dfe") * TABLE_1_SIZES["bu3dfe"] // 25 >= 20


def test_unnamed_databases_follow_scale_and_cap():
    default = profiles.get("default")
    assert profiles.data_scale(default, TABLE_1_SIZES["affwild"], "affwild") == pytest.approx(
        default.data_max_per_database / TABLE_1_SIZES["affwild"]
    )
    assert profiles.data_scale(default, 1000) == default.data_scale
    assert profiles.data_scale(profiles.get("paper"), TABLE_1_SIZES["rafdb"], "rafdb") == 1.0


def test_a_named_size_never_exceeds_the_database():
    assert profiles.data_scale(profiles.get("default"), 100, "bu3dfe") == 1.0


def test_only_smoke_caps_the_synthesized_share():
    assert profiles.get("smoke").augment_max_per_set is not None
    assert profiles.get("default").augment_max_per_set is None
    assert profiles.get("paper").augment_max_per_set is None


def test_unknown_profile_names_the_valid_ones():
    with pytest.raises(ValueError, match="smoke"):
        profiles.get("huge")
