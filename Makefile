VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# the cluster's backend.ai-agent release: make bundle AGENT=24.3.11
AGENT ?= 23.9.10

.PHONY: demo test toolchains bench compare stress crash shutdown flood clean bundle deploy-bench tools-bench

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m tools.demo

toolchains:
	python3 -m tools.toolchains

test: $(STAMP) toolchains
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m tools.container
	$(PY) -m pytest -q -n 2 --dist loadscope

bench: $(STAMP)
	$(PY) -m bench.eventlog
	$(PY) -m bench.frontend

compare: $(STAMP)
	$(PY) -m bench.compare

bundle: $(STAMP)
	$(PY) -m tools.bundle --agent-version $(AGENT)

deploy-bench: $(STAMP)
	$(PY) -m bench.deploy 10

tools-bench: $(STAMP)
	$(PY) -m bench.inspect 1000000

stress: $(STAMP)
	$(PY) -m bench.stress 100000

crash: $(STAMP)
	$(PY) -m bench.crash 50

shutdown: $(STAMP)
	$(PY) -m bench.shutdown 200

flood: $(STAMP)
	$(PY) -m bench.flood 1

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache .hypothesis
