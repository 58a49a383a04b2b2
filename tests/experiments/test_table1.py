"""Tests of affect.experiments.table1: synthesized-image counts beside the paper's Table 1."""

import pandas as pd

from affect.experiments import table1


def test_synthesized_counts_counts_va_and_expression_rows_per_database():
    toy = pd.DataFrame(
        {
            "source": ["a", "a", "a", "b", "b"],
            "expression": [None, None, "fear", "anger", None],
        }
    )
    counts = table1.synthesized_counts({"afew_va": toy, "bu3dfe": toy.iloc[2:4]})
    assert counts.loc["afew_va", ("synthesized images", "VA")] == 3
    assert counts.loc["afew_va", ("synthesized images", "basic expressions")] == 2
    assert counts.loc["afew_va", ("neutral images", "")] == 2
    assert counts.loc["bu3dfe", ("synthesized images", "VA")] == 0


def test_table_1_puts_counts_on_the_paper_rows():
    toy = pd.DataFrame({"source": ["a", "b"], "expression": [None, "fear"]})
    combined = table1.table_1(table1.synthesized_counts({"bu3dfe": toy}))
    ours = [c for c in combined.columns if c[0].startswith("this run")]
    assert combined.loc["BU-3DFE", ("paper", "synthesized images VA")] == 5700
    assert combined.loc["BU-3DFE", ours[0]] == 1
    assert "bu3dfe" not in combined.index


def test_write_table_1_writes_markdown_beside_the_paper(tmp_path):
    from affect.run import start

    toy = pd.DataFrame({"source": ["a"], "expression": ["fear"]})
    run = start("smoke", "proxy", seed=0, out_dir=tmp_path)
    path = table1.write_table_1(table1.synthesized_counts({"rafdb": toy}), run)
    text = path.read_text()
    assert "RAF-DB" in text and "12828" in text.replace(",", "") and "PROXY" in text
