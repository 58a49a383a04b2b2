"""Reports label their data source, put this run beside the paper, and reuse saved results."""

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from affect import reporting  # noqa: E402
from affect.run import start


@pytest.fixture
def run(tmp_path):
    return start("smoke", "proxy", seed=3, out_dir=tmp_path)


def test_titles_name_proxy_data_and_profile(run):
    title = run.title("Table 2")
    assert "PROXY" in title and "smoke" in title
    assert "PROXY" not in start("smoke", "real", seed=0, out_dir=run.out_dir).title("Table 2")


def test_beside_paper_keeps_both_sources_and_all_rows():
    ours = pd.DataFrame({("CCC", "valence"): [0.5, 0.1]}, index=["VGG-FACE", "extra"])
    paper = pd.DataFrame({("CCC", "valence"): [0.6, 0.7]}, index=["AffWildNet", "VGG-FACE"])
    both = reporting.beside_paper(ours, paper)
    assert list(both.index) == ["AffWildNet", "VGG-FACE", "extra"]
    assert both.loc["VGG-FACE", ("this run", "CCC valence")] == 0.5
    assert both.loc["VGG-FACE", ("paper", "CCC valence")] == 0.7
    assert pd.isna(both.loc["AffWildNet", ("this run", "CCC valence")])


def test_write_table_writes_markdown_and_csv_beside_the_papers_numbers(run, monkeypatch):
    from affect import paper

    monkeypatch.setattr(paper, "table", lambda n: pd.DataFrame({"accuracy": [0.9]}, index=["net"]))
    md = reporting.write_table(6, pd.DataFrame({"accuracy": [0.25]}, index=["net"]), run, title="RAF-DB")
    text = md.read_text()
    assert "Table 6" in text and "PROXY" in text and "0.250" in text and "0.900" in text
    assert (run.out_dir / "tables" / "table_06.csv").exists()


def test_save_figure_titles_with_source(run):
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    path = reporting.save_figure(fig, "line", run, "A line")
    assert path.exists() and "PROXY" in fig._suptitle.get_text()
    plt.close(fig)


def test_cached_computes_once_then_reuses(run, tmp_path):
    calls = []
    value = reporting.cached(run, "numbers", lambda: calls.append(1) or {"a": 1})
    reuse = start("smoke", "proxy", seed=3, out_dir=run.out_dir, reuse_results=True)
    again = reporting.cached(reuse, "numbers", lambda: calls.append(1) or {"a": 2})
    assert value == again == {"a": 1} and len(calls) == 1


def test_reuse_without_saved_result_names_the_key(tmp_path):
    reuse = start("smoke", "proxy", seed=0, out_dir=tmp_path, reuse_results=True)
    with pytest.raises(FileNotFoundError, match="missing_key"):
        reporting.load_result(reuse, "missing_key")


def test_readme_lists_each_run_with_its_settings(tmp_path):
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "fig.png").write_bytes(b"png")
    runs = {
        "01_demo": dict(
            notebook="01_demo",
            date="2026-01-01T00:00:00",
            commit="abc123",
            profile="smoke",
            data_source="proxy",
            seed=0,
            wall_s=1.25,
            status="ok",
            title="Demo",
            error="",
            outputs=["figures/fig.png"],
        )
    }
    (tmp_path / "runs.json").write_text(json.dumps(runs))
    text = reporting.write_readme(tmp_path).read_text()
    for expected in ("## 01_demo", "abc123", "smoke", "PROXY", "1.2 s", "![fig](figures/fig.png)"):
        assert expected in text


def test_saved_results_load_back_with_index_columns_and_dtypes_intact(tmp_path):
    run = start("smoke", "proxy", seed=0, out_dir=tmp_path)
    columns = pd.MultiIndex.from_tuples([("images", "VA"), ("images", "basic")])
    frame = pd.DataFrame([[1, 2], [3, 4]], index=pd.Index(["a", "b"], name="database"), columns=columns)
    flags = pd.DataFrame(
        {"same": [True, False], "d": [0.5, 0.25]},
        index=pd.MultiIndex.from_tuples([("p", 1), ("p", 2)], names=["photo", "k"]),
    )
    reporting.save_result(run, "counts", frame)
    reporting.save_result(run, "flags", flags)
    pd.testing.assert_frame_equal(reporting.load_result(run, "counts"), frame)
    pd.testing.assert_frame_equal(reporting.load_result(run, "flags"), flags)


def test_cached_reuses_a_tuple_of_panels_and_table_without_computing(tmp_path):
    run = start("smoke", "proxy", seed=0, out_dir=tmp_path)
    images = np.arange(2 * 3 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 3, 4, 4, 3)
    grid = reporting.ImageGrid(images, np.array([["a", "b", "c"], ["d", "e", ""]]))
    table = pd.DataFrame({"x": [1.5]})
    reporting.cached(run, "panels", lambda: (grid, table))
    reuse = start("smoke", "proxy", seed=0, out_dir=tmp_path, reuse_results=True)
    again, same_table = reporting.cached(reuse, "panels", lambda: pytest.fail("recomputed"))
    np.testing.assert_array_equal(again.images, images)
    assert again.titles.tolist() == grid.titles.tolist() and again.points is None
    pd.testing.assert_frame_equal(same_table, table)
    assert len(again.figure().axes) == 6
