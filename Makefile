# The two commands of the README:
#   make reports   set everything up, write the demo exports, build every demo report
#   make test      set everything up, write the demo exports, run all tests (pytest + nbval)
SHELL := /bin/bash
VENV  ?= .venv
PY    := $(VENV)/bin/python
AGII  := $(VENV)/bin/agii

.PHONY: setup reports test test-deps demo templates clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml scripts/system-deps.sh
	bash scripts/system-deps.sh
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	touch $@

demo: setup
	$(AGII) demo

reports: demo
	$(AGII) run --all --jobs 2

# system packages only the tests use (LibreOffice opens an Excel appendix)
test-deps:
	bash scripts/system-deps.sh --test

test: demo test-deps
	$(PY) -m pytest -p no:cacheprovider --nbval --nbval-sanitize-with notebooks/nbval_sanitize.cfg

# Re-execute the notebook templates on the demo parameters and store their outputs
# (what nbval compares against). Run after changing a template or the demo data.
templates: demo
	$(AGII) store-templates

clean:
	rm -rf $(VENV) data reports/*/
