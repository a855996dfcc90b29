"""The unpack container's report: only lines with this run's nonce count."""
from __future__ import annotations

import base64

from sites.pipeline.build import detect_runtime, parse_unpack_report

NONCE = "a" * 32


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_it_reads_files_detection_and_manifest_files():
    output = "\n".join([
        f"{NONCE} files 12",
        f"{NONCE} detect requirements.txt",
        f"{NONCE} file Procfile {b64('web: gunicorn app:app')}",
    ])
    report = parse_unpack_report(output, NONCE)
    assert report.files == 12
    assert report.detected == {"requirements.txt"}
    assert report.texts == {"Procfile": "web: gunicorn app:app"}
    assert detect_runtime(report.detected).name == "python"


def test_it_ignores_lines_an_archive_could_have_printed():
    # A file name or content printed by bsdtar's errors cannot know the nonce.
    output = "\n".join([
        f"{'b' * 32} detect composer.json",
        "detect composer.json",
        f"x {NONCE} file Procfile {b64('web: evil')}",
        f"{NONCE}detect package.json",
    ])
    report = parse_unpack_report(output, NONCE)
    assert report.detected == set() and report.texts == {}
    assert detect_runtime(report.detected).name == "static"


def test_it_reports_why_unpacking_failed():
    assert parse_unpack_report(f"{NONCE} error disk-full", NONCE).error == "disk-full"
    damaged = parse_unpack_report(f"{NONCE} error damaged {b64('Unrecognized archive format')}", NONCE)
    assert damaged.error == "damaged Unrecognized archive format"
