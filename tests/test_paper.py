"""Tests of affect.paper: the paper's Tables 1 to 14 as data."""

import math

import numpy as np
import pandas as pd
import pytest

from affect import paper

# (rows, columns) of each table in wide form; valence-arousal pairs count as two columns.
SHAPES = {
    1: (15, 8),
    2: (5, 4),
    3: (5, 2),
    4: (5, 8),
    5: (4, 4),
    6: (5, 8),
    7: (3, 2),
    8: (5, 1),
    9: (3, 1),
    10: (15, 6),
    11: (15, 6),
    12: (8, 17),
    13: (22, 10),
    14: (29, 5),
}

# Cells the extraction left unambiguous, read off the paper's tables.
SPOT_CHECKS = [
    (1, "MULTI-PIE", ("size", ""), 755370),
    (1, "AffectNet", ("synthesized images", "VA"), 2476235),
    (1, "2D Face Sets: Nottingham Scans", ("synthesized images", "basic expressions"), 600),
    (2, "FATAUVA-Net [13]", ("CCC", "arousal"), 0.282),
    (2, "AffWildNet [29,30]", ("MSE", "valence"), 0.080),
    (2, "VGG-FACE-GRU trained using the proposed approach", ("CCC", "valence"), 0.595),
    (3, "ResNet-GRU [30]", ("CCC", "valence"), 0.462),
    (3, "fine-tuned AffWildNet [30]", ("CCC", "arousal"), 0.273),
    (4, "AlexNet [42]", ("SAGR", "arousal"), 0.65),
    (4, "the VGG-FACE baseline", ("PCC", "valence"), 0.54),
    (4, "VGG-FACE trained using the proposed approach", ("MSE", "arousal"), 0.15),
    (5, "best of [31]", ("MSE", "valence"), 0.484),
    (5, "VGG-FACE-GRU trained using the proposed approach", ("PCC", "arousal"), 0.614),
    (6, "LDA-VGG-FACE [35]", "disgust", 0.250),
    (6, "mSVM-DLP-CNN [35]", "happy", 0.928),
    (7, "AlexNet [42]", "accuracy", 0.58),
    (7, "the VGG-FACE baseline", "F1", 0.51),
    (8, "VGG-FACE-external [65]", "accuracy", 0.414),
    (8, "VGG-FACE-LSTM-external-augmentation [65]", "accuracy", 0.486),
    (9, "the VGG-FACE baseline", "accuracy", 0.528),
    (9, "VGG-FACE-augmentation", "accuracy", 0.588),
    (10, ("Aff-Wild", "Ours", "CCC"), ("AffWildNet", "arousal"), 0.33),
    (10, ("RECOLA", "StarGAN", "CCC"), ("ResNet-GRU", "valence"), 0.29),
    (10, ("AffectNet", "Ganimation", "MSE"), ("VGG-FACE baseline", "arousal"), 0.38),
    (11, ("Aff-Wild", "StarGAN", "CCC"), ("AffWildNet", "valence"), 0.16),
    (11, ("RECOLA", "Ours", "CCC"), ("ResNet-GRU", "arousal"), 0.14),
    (11, ("AffectNet", "Ours", "CCC"), ("VGG-FACE baseline", "valence"), 0.45),
    (12, "RECOLA", "N5", 50000),
    (12, "AffectNet (VA)", "N14", 1000000),
    (12, "RAF-DB", "N4", 3500),
    (13, ("Aff-Wild", "30-39"), ("test samples", "", ""), 99962),
    (13, ("AffectNet", "0-19"), ("Network", "MSE", "arousal"), 0.181),
    (13, ("AFEW-VA", "50-59"), ("Network-Augmented", "CCC", "arousal"), 0.85),
    (14, ("RAF-DB", "70-79"), ("VGG-FACE-Augmented", "performance"), 0.904),
    (14, ("AFEW", "30-39"), ("test frames", ""), 8568),
    (14, ("BU-3DFE", "60-70"), ("synthesized samples", ""), 18),
]

VA_TABLES = (2, 3, 4, 5, 10, 11, 13)


def numeric_values(frame: pd.DataFrame) -> np.ndarray:
    """All present numbers of a wide table, as float."""
    numeric = frame.select_dtypes(include="number")
    return numeric.astype(float).to_numpy().ravel()


def test_tables_lists_one_to_fourteen():
    assert paper.TABLES == tuple(range(1, 15))


@pytest.mark.parametrize("n", sorted(SHAPES))
def test_table_has_the_papers_shape(n):
    assert paper.table(n).shape == SHAPES[n]


@pytest.mark.parametrize("n, row, column, expected", SPOT_CHECKS)
def test_table_cell_matches_the_paper(n, row, column, expected):
    assert paper.table(n).loc[row, column] == pytest.approx(expected)


def test_every_table_has_at_least_two_spot_checks():
    counts = pd.Series([check[0] for check in SPOT_CHECKS]).value_counts()
    assert all(counts.get(n, 0) >= 2 for n in paper.TABLES)


@pytest.mark.parametrize("n", paper.TABLES)
def test_every_present_number_is_finite(n):
    values = numeric_values(paper.table(n))
    present = values[~np.isnan(values)]
    assert present.size > 0 and np.isfinite(present).all()
    long = paper.long_table(n)
    assert np.isfinite(long["value"].dropna()).all()


# Cells the paper leaves empty ('-'), per table; all others hold a number (or Table 1 text).
MISSING = {1: 11, 10: 60, 11: 60, 12: 72, 13: 40, 14: 23}


@pytest.mark.parametrize("n", paper.TABLES)
def test_only_the_papers_empty_cells_are_missing(n):
    assert int(paper.table(n).isna().to_numpy().sum()) == MISSING.get(n, 0)


@pytest.mark.parametrize("n", VA_TABLES)
def test_va_tables_have_separate_valence_and_arousal_columns(n):
    frame = paper.table(n)
    dimensions = list(frame.columns.get_level_values("dimension"))
    assert dimensions.count("valence") == dimensions.count("arousal") >= 1


def test_valence_arousal_pairs_are_split_in_printed_order():
    # Table 13, AFEW-VA 20-29, Network-Augmented CCC is printed '0.46-0.60'.
    row = paper.table(13).loc[("AFEW-VA", "20-29"), "Network-Augmented"]
    assert row[("CCC", "valence")] == pytest.approx(0.46)
    assert row[("CCC", "arousal")] == pytest.approx(0.60)


def test_table1_keeps_text_as_text_and_counts_as_integers():
    frame = paper.table(1)
    assert frame.loc["AFEW 5.0", "type"] == "A/V"
    assert frame.loc["FEI", "age range"] == "19-40"
    assert frame.loc["RECOLA", "model of affect"] == "VA"
    assert pd.isna(frame.loc["MULTI-PIE", "age range"])
    assert str(frame["size"].dtype) == "Int64"
    assert str(frame[("synthesized images", "VA")].dtype) == "Int64"


def test_table1_columns_follow_the_papers_order():
    top = list(dict.fromkeys(paper.table(1).columns.get_level_values(0)))
    assert top == ["type", "model of affect", "condition", "size", "subjects", "age range", "synthesized images"]


def test_table6_averages_agree_with_the_class_values():
    frame = paper.table(6)
    classes = frame.drop(columns="average")
    assert np.allclose(classes.mean(axis=1), frame["average"], atol=0.0015)


@pytest.mark.parametrize("database", ["Aff-Wild", "RECOLA"])
def test_table13_age_groups_add_up_to_the_total(database):
    block = paper.table(13).loc[database]
    for column in ("test samples", "synthesized samples"):
        counts = block[column]
        assert counts.drop("total").sum() == counts["total"]


@pytest.mark.parametrize("database", ["AffectNet", "AFEW", "BU-3DFE"])
def test_table14_age_groups_add_up_to_the_total(database):
    block = paper.table(14).loc[database]
    for column in ("test samples", "synthesized samples"):
        counts = block[column]
        assert counts.drop("total").sum() == counts["total"]


def test_printed_totals_that_disagree_with_their_groups_carry_a_note():
    long = paper.long_table(13)
    flagged = long[
        (long["database"] == "AFEW-VA")
        & (long["row"] == "total")
        & long["metric"].isin(["test samples", "synthesized samples"])
    ]
    assert len(flagged) == 2 and flagged["note"].str.contains("sum").all()


def test_age_totals_repeat_the_main_results():
    t13, t14 = paper.table(13), paper.table(14)
    ours = "VGG-FACE-GRU trained using the proposed approach"
    assert (
        t13.loc[("Aff-Wild", "total"), ("Network-Augmented", "MSE", "arousal")]
        == paper.table(2).loc[ours, ("MSE", "arousal")]
    )
    assert (
        t13.loc[("AffectNet", "total"), ("Network", "CCC", "valence")]
        == paper.table(4).loc["the VGG-FACE baseline", ("CCC", "valence")]
    )
    proposed = "VGG-FACE trained using the proposed approach"
    assert t14.loc[("AFEW", "total"), ("VGG-FACE-Augmented", "performance")] == paper.table(8).loc[proposed, "accuracy"]
    assert (
        t14.loc[("BU-3DFE", "total"), ("VGG-FACE-Augmented", "performance")] == paper.table(9).loc[proposed, "accuracy"]
    )
    assert t14.loc[("AffectNet", "total"), ("VGG-FACE", "performance")] == pytest.approx(
        paper.table(7).loc["the VGG-FACE baseline", "F1"]
    )


def test_resolved_garbled_cells_record_the_rejected_reading():
    long = paper.long_table(8)
    cell = long[long["row"] == "VGG-FACE trained using the proposed approach"].iloc[0]
    assert cell["value"] == pytest.approx(0.484) and "0.404" in cell["note"]


def test_table14_long_form_keeps_the_criterion_per_database():
    long = paper.long_table(14)
    criteria = long[long["model"] != ""].groupby("database")["metric"].unique()
    assert list(criteria["RAF-DB"]) == ["F1"] and list(criteria["BU-3DFE"]) == ["accuracy"]


def test_long_table_has_one_row_per_printed_number():
    long = paper.long_table(10)
    assert list(long.columns) == list(paper.FIELDS)
    assert len(long) == 30 and set(long["dimension"]) == {"valence", "arousal"}


def test_long_table_without_number_holds_every_table():
    assert set(paper.long_table()["table"]) == set(paper.TABLES)


@pytest.mark.parametrize("n", [2, 13])
def test_frames_are_labelled_as_the_papers(n):
    for frame in (paper.table(n), paper.long_table(n)):
        assert frame.attrs["source"] == "paper" and frame.attrs["table"] == n
        assert frame.attrs["caption"] == paper.caption(n)


def test_caption_is_the_papers_text():
    assert paper.caption(3).startswith("RECOLA: CCC evaluation")
    assert "videos (frames)" in paper.caption(14)


def test_returned_frames_are_independent_copies():
    wide, long = paper.table(2), paper.long_table(2)
    wide.iloc[0, 0] = math.pi
    long.loc[0, "value"] = math.pi
    assert paper.table(2).iloc[0, 0] == pytest.approx(0.396)
    assert paper.long_table(2).loc[0, "value"] == pytest.approx(0.396)


@pytest.mark.parametrize("bad", [0, 15, -1, 2.0, True, "3", None])
def test_bad_table_number_names_the_valid_range(bad):
    with pytest.raises(ValueError, match="1 to 14"):
        paper.table(bad)
    if bad is not None:
        with pytest.raises(ValueError, match="1 to 14"):
            paper.long_table(bad)
    with pytest.raises(ValueError, match="1 to 14"):
        paper.caption(bad)
