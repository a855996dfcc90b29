# The two commands of the README. Both install what is missing first (as root, on Debian).
PYTHON := .venv/bin/python

.PHONY: install run test bench upgrade upgrade-installed install-services

install:
	@scripts/install.sh

run: install
	@$(PYTHON) -m launcher.run

# Upgrade in place while sites keep serving: pull, then (with the new Makefile) install, migrate,
# rebuild the images whose recipe changed and restart the control plane (launcher/upgrade.py).
upgrade:
	@git pull --ff-only
	@$(MAKE) --no-print-directory upgrade-installed

upgrade-installed: install
	@$(PYTHON) -m launcher.upgrade

# Production: the platform as systemd services that start at boot (README: Production install).
# Options with ARGS, e.g. `make install-services ARGS=--no-enable`.
install-services: install
	@$(PYTHON) -m launcher.install_services $(ARGS)

# Pass pytest arguments with ARGS, e.g. `make test ARGS="tests/unit -k healthz"`.
# The tests need a little more than the platform: Debian's chromium for the browser tests.
test:
	@scripts/install.sh --test
	@$(PYTHON) -m launcher.test $(ARGS)

# Benchmarks, measured side by side in one run; they write their tables to BENCHMARKS.md.
bench: install
	@$(PYTHON) -m bench.deploys
	@$(PYTHON) -m bench.edge
	@$(PYTHON) -m bench.portal
	@$(PYTHON) -m bench.admin
	@$(PYTHON) -m bench.failover
	@$(PYTHON) -m bench.fleet_failover
	@$(PYTHON) -m bench.slug_fetch
	@$(PYTHON) -m bench.databases
	@$(PYTHON) -m bench.backups
