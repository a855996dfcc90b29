from __future__ import annotations

import pytest

from launcher import Abort
from launcher.stack import BASE_DIR, read_procfile


def test_the_platform_procfile_names_every_process():
    names = [name for name, _ in read_procfile(BASE_DIR / "Procfile")]
    assert names == ["web", "worker", "agent", "beat", "edge", "edge_worker"]


def test_it_refuses_a_malformed_line(tmp_path):
    procfile = tmp_path / "Procfile"
    procfile.write_text("web: gunicorn app\nnot a process line\n")
    with pytest.raises(Abort, match="line 2"):
        read_procfile(procfile)
