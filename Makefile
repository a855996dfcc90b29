# The two commands of the README. Both install what is missing first (as root, on Debian).
PYTHON := .venv/bin/python

.PHONY: install run test bench

install:
	@scripts/install.sh

run: install
	@$(PYTHON) -m hosting.launcher.run

# Pass pytest arguments with ARGS, e.g. `make test ARGS="tests/unit -k healthz"`.
test: install
	@$(PYTHON) -m hosting.launcher.test $(ARGS)

# Benchmarks, measured side by side in one run; they write their tables to BENCHMARKS.md.
bench: install
	@$(PYTHON) -m bench.deploys
	@$(PYTHON) -m bench.edge
