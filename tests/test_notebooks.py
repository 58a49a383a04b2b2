"""Every numbered notebook has one parameters cell and runs top to bottom with profile=smoke."""

from pathlib import Path

import nbformat
import pytest

from affect import pipeline

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = pipeline.find_notebooks(ROOT / "notebooks")
REQUIRED = ("profile", "data_source", "seed", "device", "out_dir")


def test_there_are_numbered_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no NN_name.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_has_exactly_one_parameters_cell_with_the_run_settings(path):
    cells = nbformat.read(path, as_version=4).cells
    tagged = [c for c in cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    for name in REQUIRED:
        assert any(line.startswith(f"{name} =") for line in tagged[0].source.splitlines()), name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_has_no_function_definitions(path):
    code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    assert "def " not in code and "class " not in code


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_with_the_smoke_profile(path, tmp_path):
    parameters = dict(profile="smoke", data_source="proxy", seed=0, device="cpu",
                      out_dir=str(tmp_path), reuse_results=False)
    run = pipeline.run_notebook(path, tmp_path, parameters)
    assert run.status == "ok"
