"""The papermill pipeline runs numbered notebooks in order and stops on the first failure."""

import json
import shutil
from pathlib import Path

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


# --- real data: which notebooks the data folder allows ---------------------------------------

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
#: With only AffectNet and RAF-DB: the gallery's notebook, Tables 4, 6 and 7, and the explorer.
RUN_WITH_AFFECTNET_AND_RAFDB = ["00", "04", "06", "07", "15"]


@pytest.fixture(scope="module")
def two_databases(tmp_path_factory):
    """A data folder holding AffectNet and RAF-DB in their real layout (written by the stand-in writers)."""
    from affect.datasets.proxy import ensure_proxy
    from affect.profiles import get

    folder = tmp_path_factory.mktemp("data")
    for name in ("affectnet", "rafdb"):
        ensure_proxy(name, folder, get("smoke"), 0)
    return folder


@pytest.fixture
def real_data(two_databases, monkeypatch):
    monkeypatch.setenv("AFFECT_DATA", str(two_databases))
    return two_databases


def _planned(data_source="real", gallery_source="proxy", profile="smoke"):
    notebooks = pipeline.find_notebooks(NOTEBOOKS)
    return {p.path.name[:2]: p for p in pipeline.plan(notebooks, profile, data_source, gallery_source)}


def test_plan_runs_the_notebooks_whose_real_databases_are_present(real_data):
    planned = _planned()
    assert [n for n, p in planned.items() if p.runs] == RUN_WITH_AFFECTNET_AND_RAFDB
    section = 'see data/README.md, section "Databases of Table 1"'
    assert planned["02"].skip_line() == f"02_affwild.ipynb: skipped, $AFFECT_DATA/affwild/ not found ({section})"
    assert [m.shown() for m in planned["10"].missing] == ["$AFFECT_DATA/affwild/", "$AFFECT_DATA/recola/"]
    # Table 12 at smoke draws the curves of Tables 4, 5, 7 and 9 only.
    assert [m.shown() for m in planned["12"].missing] == ["$AFFECT_DATA/afew_va/", "$AFFECT_DATA/bu3dfe/"]
    assert planned["14"].missing[-1].shown() == "$AFFECT_DATA/imdb_wiki/"
    assert "Age databases of Sec. 6.5" in planned["14"].missing[-1].section


def test_plan_skips_the_notebooks_reading_the_gallery_when_4dfab_is_missing(real_data):
    planned = _planned(gallery_source="real")
    assert not any(p.runs for p in planned.values())
    assert [m.shown() for m in planned["00"].missing] == ["$AFFECT_DATA/4dfab/"]
    assert [m.shown() for m in planned["04"].missing] == ["$AFFECT_DATA/4dfab/"]
    assert "4DFAB" in planned["15"].missing[0].section


def test_plan_skips_nothing_with_stand_ins(tmp_path, monkeypatch):
    monkeypatch.setenv("AFFECT_DATA", str(tmp_path))
    assert all(p.runs for p in _planned(data_source="proxy").values())


def test_every_notebook_states_its_data_and_every_section_exists():
    from affect import notebook_needs
    from affect.profiles import get

    needs = notebook_needs.notebook_needs(get("default"))
    assert sorted(needs) == [p.name[:2] for p in pipeline.find_notebooks(NOTEBOOKS)]
    headings = {line.lstrip("#").strip() for line in (ROOT / "data" / "README.md").read_text().splitlines()}
    assert set(notebook_needs.SECTIONS.values()) <= headings


def _stub_notebooks(monkeypatch, failing=()):
    """Notebook execution replaced by a record (a NotebookError for the numbers in ``failing``)."""
    ran = []

    def run_notebook(path, reports_dir, parameters, kernel=None):
        ran.append(path.name[:2])
        status = "failed" if path.name[:2] in failing else "ok"
        run = pipeline.NotebookRun(
            path.stem,
            "2024-01-01T00:00:00",
            "abc",
            parameters["profile"],
            parameters["data_source"],
            parameters["seed"],
            0.0,
            status,
        )
        if status == "failed":
            error = pipeline.NotebookError(f"{path.name} failed in cell 1: ValueError: broken")
            error.run = run
            raise error
        return run

    monkeypatch.setattr(pipeline, "run_notebook", run_notebook)
    monkeypatch.setattr(pipeline, "kernel_name", lambda: "python3")
    return ran


def test_reproduce_with_real_data_runs_what_it_can_and_lists_the_rest(real_data, tmp_path, monkeypatch, capsys):
    from affect import cli

    ran = _stub_notebooks(monkeypatch)
    reports = tmp_path / "reports"
    status = cli.main(
        [
            "reproduce",
            "--profile",
            "smoke",
            "--data-source",
            "real",
            "--notebooks",
            str(NOTEBOOKS),
            "--reports",
            str(reports),
        ]
    )
    assert status == 0 and ran == RUN_WITH_AFFECTNET_AND_RAFDB
    console = capsys.readouterr().out
    assert "02_affwild.ipynb: skipped, $AFFECT_DATA/affwild/ not found" in console
    assert "skipped 11 of 16 notebooks" in console
    readme = (reports / "README.md").read_text()
    assert "## Skipped notebooks" in readme
    assert (
        "- 13_age_va.ipynb: skipped, $AFFECT_DATA/affwild/, $AFFECT_DATA/recola/, $AFFECT_DATA/afew_va/ not found"
        in readme
    )
    assert "06_rafdb" not in json.loads((reports / "skipped.json").read_text())


def test_reproduce_exits_non_zero_only_when_a_notebook_that_ran_failed(real_data, tmp_path, monkeypatch, capsys):
    from affect import cli

    ran = _stub_notebooks(monkeypatch, failing=("06",))
    status = cli.main(
        [
            "reproduce",
            "--profile",
            "smoke",
            "--data-source",
            "real",
            "--notebooks",
            str(NOTEBOOKS),
            "--reports",
            str(tmp_path / "reports"),
        ]
    )
    assert status == 1 and ran == ["00", "04", "06"]
    assert "06_rafdb.ipynb failed in cell 1" in capsys.readouterr().err


def test_a_notebook_asked_for_by_number_without_its_data_fails_with_one_line(real_data, tmp_path, monkeypatch, capsys):
    from affect import cli

    ran = _stub_notebooks(monkeypatch)
    status = cli.main(
        [
            "reproduce",
            "--profile",
            "smoke",
            "--data-source",
            "real",
            "--only",
            "02",
            "--notebooks",
            str(NOTEBOOKS),
            "--reports",
            str(tmp_path / "reports"),
        ]
    )
    error = capsys.readouterr().err
    assert status == 1 and ran == []
    assert error == (
        "affect: error: 02_affwild.ipynb: $AFFECT_DATA/affwild/ not found "
        '(see data/README.md, section "Databases of Table 1")\n'
    )


def test_reproduce_at_smoke_on_real_data_runs_the_notebook_its_database_allows(real_data, tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for name in ("02_affwild.ipynb", "06_rafdb.ipynb"):
        shutil.copy(NOTEBOOKS / name, notebooks / name)
    runs = pipeline.reproduce(
        profile="smoke", data_source="real", notebooks_dir=notebooks, reports_dir=tmp_path / "reports"
    )
    assert [r.notebook for r in runs] == ["06_rafdb"] and runs[0].status == "ok"
    assert "tables/table_06.md" in runs[0].outputs


def test_fer2013_is_an_optional_need_of_table_8_so_its_absence_skips_no_notebook(tmp_path, monkeypatch):
    from affect import notebook_needs
    from affect.profiles import get

    monkeypatch.setenv("AFFECT_DATA", str(tmp_path))
    needs = notebook_needs.notebook_needs(get("smoke"))
    assert needs["08"].databases == ("afew",) and needs["08"].optional == ("fer2013",)
    assert all(not n.optional for number, n in needs.items() if number != "08")
    (tmp_path / "afew").mkdir()
    assert notebook_needs.missing_data(needs["08"], get("smoke"), "real", "proxy") == ()
    assert "FER2013" in notebook_needs.SECTIONS["fer2013"]


def test_executed_notebooks_name_their_reports_folder_relative_to_themselves(tmp_path):
    import json

    from affect.pipeline import relative_paths

    reports = tmp_path / "reports"
    notebook = reports / "notebooks" / "04_affectnet_va.ipynb"
    notebook.parent.mkdir(parents=True)
    cells = [
        {"cell_type": "code", "source": [f'out_dir = "{reports}"\n'], "outputs": []},
        {"cell_type": "code", "source": ["save()"], "outputs": [{"text": [f"{reports}/figures/fig14.png"]}]},
        {"cell_type": "code", "source": ["warn()"], "outputs": [{"text": [f"{tmp_path}/.venv/lib/x.py: warning"]}]},
    ]
    notebook.write_text(json.dumps({"cells": cells}), encoding="utf-8")
    relative_paths(notebook, reports, tmp_path)
    text = notebook.read_text(encoding="utf-8")
    assert str(tmp_path) not in text
    cells = json.loads(text)["cells"]
    assert cells[0]["source"] == ['out_dir = ".."\n']
    assert cells[1]["outputs"][0]["text"] == ["../figures/fig14.png"]
    assert cells[2]["outputs"][0]["text"] == ["../../.venv/lib/x.py: warning"]
    assert (notebook.parent / "../figures/fig14.png").resolve() == reports / "figures" / "fig14.png"


def _reference_run(reports):
    """A reports folder as the repository holds it: the reference run, its mark and a bench file."""
    for name in ("tables", "figures", "notebooks", "results/runs/table_04/row"):
        (reports / name).mkdir(parents=True)
    (reports / "results/runs/table_04/row/predictions.csv").write_text("label,prediction\n")
    (reports / "README.md").write_text("# reference\n")
    (reports / "bench.json").write_text("{}")
    (reports / pipeline.REFERENCE_MARK).write_text("abc1234\n")


def test_a_run_replaces_the_reference_run_instead_of_reusing_its_predictions(tmp_path, capsys):
    reports = tmp_path / "reports"
    _reference_run(reports)
    assert pipeline.replace_reference_run(reports)
    assert sorted(p.name for p in reports.iterdir()) == ["bench.json"]
    assert "replacing the reference run of commit abc1234" in capsys.readouterr().out
    assert not pipeline.replace_reference_run(reports)  # the run's own results are kept from now on


def test_redrawing_keeps_the_reference_run(tmp_path):
    notebooks, reports = tmp_path / "nb", tmp_path / "reports"
    notebooks.mkdir()
    _reference_run(reports)
    pipeline.reproduce(profile="smoke", notebooks_dir=notebooks, reports_dir=reports, reuse_results=True)
    assert (reports / "results/runs/table_04/row/predictions.csv").exists()
    assert (reports / pipeline.REFERENCE_MARK).exists()
    pipeline.reproduce(profile="smoke", notebooks_dir=notebooks, reports_dir=reports)
    assert not (reports / "results").exists() and not (reports / pipeline.REFERENCE_MARK).exists()
