"""The papermill pipeline runs numbered notebooks in order and stops on the first failure."""

import json

import nbformat
import pytest

from affect import pipeline


def _notebook(path, body):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(
        "profile = 'default'\ndata_source = 'proxy'\nseed = 0\ndevice = 'cpu'\nout_dir = '.'\nreuse_results = False"
    )
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {path.stem}"), params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def test_find_notebooks_keeps_numbered_ones_in_order(tmp_path):
    for name in ("02_b.ipynb", "00_a.ipynb", "scratch.ipynb", "1_bad.ipynb"):
        (tmp_path / name).write_text("{}")
    assert [p.name for p in pipeline.find_notebooks(tmp_path)] == ["00_a.ipynb", "02_b.ipynb"]
    assert [p.name for p in pipeline.find_notebooks(tmp_path, only=["2"])] == ["02_b.ipynb"]


@pytest.mark.slow
def test_reproduce_runs_injects_parameters_and_stops_at_a_failure(tmp_path):
    notebooks, reports = tmp_path / "nb", tmp_path / "reports"
    notebooks.mkdir()
    _notebook(
        notebooks / "00_ok.ipynb",
        "import pathlib\npathlib.Path(out_dir, 'tables').mkdir(parents=True, exist_ok=True)\n"
        "pathlib.Path(out_dir, 'tables', 'table_99.md').write_text(profile + ' ' + str(seed))",
    )
    _notebook(notebooks / "01_fails.ipynb", "raise ValueError('broken input')")
    _notebook(notebooks / "02_never.ipynb", "pass")

    with pytest.raises(pipeline.NotebookError, match=r"01_fails.ipynb failed in cell \d+: ValueError: broken input"):
        pipeline.reproduce(profile="smoke", seed=7, notebooks_dir=notebooks, reports_dir=reports)

    assert (reports / "tables" / "table_99.md").read_text() == "smoke 7"
    runs = json.loads((reports / "runs.json").read_text())
    assert runs["00_ok"]["status"] == "ok" and runs["01_fails"]["status"] == "failed"
    assert "02_never" not in runs
    assert runs["00_ok"]["outputs"] == ["tables/table_99.md"]
    readme = (reports / "README.md").read_text()
    assert "## 00_ok" in readme and "broken input" in readme
    assert (reports / "notebooks" / "00_ok.ipynb").exists()
