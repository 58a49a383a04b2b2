"""Every numbered notebook has one parameters cell and runs top to bottom with profile=smoke."""

from pathlib import Path

import nbformat
import pytest

from affect import pipeline

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = pipeline.find_notebooks(ROOT / "notebooks")
REQUIRED = ("profile", "data_source", "seed", "device", "out_dir", "reuse_results")
#: Notebooks of Tables 2 to 9 (and 10 to 14, which reuse their networks and synthesized sets)
#: also choose the affect model and the pretrained weights; the VA explorer (15) only the affect model.
REQUIRED_TABLES = ("gallery_source", "weights")


def test_there_are_numbered_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no NN_name.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_has_exactly_one_parameters_cell_with_the_run_settings(path):
    cells = nbformat.read(path, as_version=4).cells
    tagged = [c for c in cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    required = REQUIRED + (REQUIRED_TABLES if "02" <= path.name[:2] <= "14" else ())
    required += ("gallery_source",) if path.name[:2] == "15" else ()
    for name in required:
        assert any(line.startswith(f"{name} =") for line in tagged[0].source.splitlines()), name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_has_no_function_definitions(path):
    code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    assert "def " not in code and "class " not in code


#: What each notebook promises to write under reports/: its tables and figures (file stems).
PROMISES = {
    "00_gallery_4dfab": {
        "tables": [],
        "figures": ["fig03_va_histogram", "va_classes", "fig05_mean_faces", "expression_means", "sparse_components"],
    },
    "01_affect_synthesis": {
        "tables": ["table_01"],
        "figures": [
            "engine_round_trip",
            "fig07_08_static_va",
            "fig09_basic_expressions",
            "expression_variation",
            "fig10_temporal_va",
            "fig11_gan_comparison",
        ],
    },
    "02_affwild": {"tables": ["table_02"], "figures": ["fig12_affwild_va_mse"]},
    "03_recola": {"tables": ["table_03"], "figures": ["fig13_recola_va_mse"]},
    "04_affectnet_va": {"tables": ["table_04"], "figures": ["fig14_affectnet_va_mse", "fig15_affectnet_training_va"]},
    "05_afew_va": {"tables": ["table_05"], "figures": ["fig16_afew_va_mse"]},
    "06_rafdb": {"tables": ["table_06"], "figures": ["fig17_rafdb_confusion"]},
    "07_affectnet_expr": {"tables": ["table_07"], "figures": ["fig18_affectnet_confusion"]},
    "08_afew": {"tables": ["table_08"], "figures": ["fig19_afew_confusion"]},
    "09_bu3dfe": {"tables": ["table_09"], "figures": []},
    "10_synthetic_as_test": {"tables": ["table_10"], "figures": ["fig_table10_ccc"]},
    "11_synthetic_as_train": {"tables": ["table_11"], "figures": ["fig_table11_ccc"]},
    "12_granularity": {"tables": ["table_12"], "figures": ["fig20_granularity"]},
    "13_age_va": {"tables": ["table_13"], "figures": ["age_estimator_wiki_13", "table13_age_groups"]},
    "14_age_expr": {"tables": ["table_14"], "figures": ["age_estimator_wiki_14", "table14_age_groups"]},
    "15_va_explorer": {"tables": [], "figures": []},
}


def test_every_notebook_states_what_it_writes():
    assert sorted(PROMISES) == sorted(p.stem for p in NOTEBOOKS)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_with_the_smoke_profile_writes_what_it_promises_and_redraws_from_saved_results(path, tmp_path):
    parameters = dict(
        profile="smoke", data_source="proxy", seed=0, device="cpu", out_dir=str(tmp_path), reuse_results=False
    )
    run = pipeline.run_notebook(path, tmp_path, parameters)
    assert run.status == "ok"
    promised = PROMISES[path.stem]
    for table in promised["tables"]:
        text = (tmp_path / "tables" / f"{table}.md").read_text()
        assert "PROXY data" in text.splitlines()[0], f"{table}: the title does not state the data source"
        assert (tmp_path / "tables" / f"{table}.csv").is_file()
    figures = {name: tmp_path / "figures" / f"{name}.png" for name in promised["figures"]}
    assert [name for name, file in figures.items() if not file.is_file()] == []

    # make figures: the same notebook with reuse_results redraws every figure from the saved
    # results and recomputes none of them.
    results = {file: file.stat().st_mtime_ns for file in (tmp_path / "results").glob("*.*") if file.is_file()}
    drawn = {name: file.stat().st_mtime_ns for name, file in figures.items()}
    again = pipeline.run_notebook(path, tmp_path, dict(parameters, reuse_results=True))
    assert again.status == "ok"
    assert {file: file.stat().st_mtime_ns for file in results} == results
    assert all(file.stat().st_mtime_ns > drawn[name] for name, file in figures.items())


def _real_affectnet_copy(data: Path) -> Path:
    """A copy of the AffectNet stand-in in the real layout, with the format's quirks."""
    import shutil

    from affect import profiles
    from affect.datasets.proxy import ensure_proxy

    stand_in = ensure_proxy("affectnet", data / "stand-in", profiles.get("smoke"), 0)
    root = data / "affectnet"
    shutil.copytree(stand_in, root)
    annotated = root / "Manually_Annotated"
    validation = (annotated / "validation.csv").read_text().splitlines()
    rows = validation[1:]  # the header dropped, as in some releases
    template = rows[0].split(",")
    extra = [",".join(template[:6] + [code] + template[7:]) for code in ("8", "9", "10")]  # not expressions
    unannotated = template[:7] + ["-2", "-2"]  # Uncertain / No-Face rows carry valence and arousal -2
    missing = ["1/missing.jpg"] + template[1:]
    (annotated / "validation.csv").write_text(
        "\n".join(rows + extra + [",".join(unannotated), ",".join(missing)]) + "\n"
    )
    return root


@pytest.mark.slow
def test_notebook_04_runs_on_a_real_layout_affectnet(tmp_path, monkeypatch):
    data = tmp_path / "data"
    _real_affectnet_copy(data)
    monkeypatch.setenv("AFFECT_DATA", str(data))
    path = ROOT / "notebooks" / "04_affectnet_va.ipynb"
    out = tmp_path / "reports"
    run = pipeline.run_notebook(
        path,
        out,
        dict(profile="smoke", data_source="real", seed=0, device="cpu", out_dir=str(out), reuse_results=False),
    )
    assert run.status == "ok"
    title = (out / "tables" / "table_04.md").read_text().splitlines()[0]
    assert "real data" in title
    assert "PROXY" not in title


def test_every_title_cell_is_its_own_and_says_how_to_read_the_results():
    """No paragraph of a title cell repeats another notebook's word for word; each cites the paper."""
    owners = {}
    for path in NOTEBOOKS:
        title = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown").source
        assert "Sec." in title, path.name
        for paragraph in title.split("\n\n")[1:]:
            assert paragraph not in owners, f"{path.name} repeats a paragraph of {owners.get(paragraph)}"
            owners[paragraph] = path.name
