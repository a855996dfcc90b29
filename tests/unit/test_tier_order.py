"""Every unit test runs before any other tier's, whatever pytest-django's own sort would do."""
from __future__ import annotations

import subprocess
import sys

from django.conf import settings

# A security test that uses the database without a transaction and starts the platform (pytest-django
# sorts it first), and a unit test with transactional_db (sorted after it): CI ran them in that order,
# and the platform's agent wrote its Host row into the database the unit test was restoring.
FILES = ["tests/security/test_lateral_scan.py", "tests/unit/test_backups.py"]


def test_it_runs_every_unit_test_before_any_other_tier():
    collected = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                                *FILES], cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120)
    order = [line.split("::")[0] for line in collected.stdout.splitlines() if "::" in line]
    assert set(order) == set(FILES), collected.stdout + collected.stderr
    assert order == sorted(order, key=lambda path: not path.startswith("tests/unit/"))
