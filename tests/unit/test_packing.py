"""hosting/packing.py: a tar stream gzipped and hashed as it is written, cut off past its bounds
with nothing left behind (slugs and /data backups both rely on it)."""
from __future__ import annotations

import gzip
import hashlib
import time

import pytest

from hosting import packing


def test_it_packs_and_hashes_what_it_wrote(tmp_path):
    packed = packing.pack([b"tar " * 1000, b"more"], tmp_path / "store", 10_000, time.monotonic() + 60)
    assert packed.temporary.parent == tmp_path / "store" and packed.temporary.name.startswith(".")
    assert hashlib.sha256(packed.temporary.read_bytes()).hexdigest() == packed.sha256
    assert packed.size == packed.temporary.stat().st_size
    assert gzip.decompress(packed.temporary.read_bytes()) == b"tar " * 1000 + b"more"


@pytest.mark.parametrize("max_bytes, deadline, error", [(4999, 60, packing.StreamTooLarge),
                                                        (10_000, -1, packing.StreamTooSlow)])
def test_it_stops_past_its_bounds_and_keeps_nothing(tmp_path, max_bytes, deadline, error):
    with pytest.raises(error):
        packing.pack([b"x" * 1000] * 5, tmp_path, max_bytes, time.monotonic() + deadline)
    assert list(tmp_path.iterdir()) == []
