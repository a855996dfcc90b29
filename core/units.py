"""Numbers as people read them: bytes in KiB/MiB/GiB, counts in k/M, CPU in percent of a core."""
from __future__ import annotations

BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def _short(value: float) -> str:
    """Three significant figures at most, no trailing zeros: 0.25, 2.5, 25, 250."""
    if value >= 100 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}".rstrip("0").rstrip(".")


def format_bytes(value: float) -> str:
    unit = 0
    while abs(value) >= 1024 and unit < len(BYTE_UNITS) - 1:
        value /= 1024
        unit += 1
    return f"{_short(value)} {BYTE_UNITS[unit]}"


def format_count(value: float) -> str:
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{_short(value / size)}{suffix}"
    return _short(value)


def format_cpu(millicores: float) -> str:
    """1000 millicores is one core: 250 -> "25%", 1500 -> "150%"."""
    return f"{_short(millicores / 10)}%"
