"""The bench's per-step timing table (bench/steps.py): steps end at the pipeline's own timestamps."""
from __future__ import annotations

from bench.steps import STEPS, step_times, steps_table

ROW = {"created_at": "2026-01-01T00:00:01Z", "build_finished_at": "2026-01-01T00:00:04.500000Z",
       "finished_at": "2026-01-01T00:00:06Z"}
BASE = 1767225600.0  # 2026-01-01T00:00:00Z


def lines(*pairs):
    return [(BASE + at, text) for at, text in pairs]


def test_each_step_ends_at_its_mark_and_the_steps_add_up_to_the_push():
    log = lines((1.0, "-----> Deployment #1 of blog: abc"), (1.5, "-----> Receiving source on h1"),
                (4.0, "-----> Compressing the slug"), (4.8, "-----> Starting v2 on h1"),
                (5.6, "       It answers HTTP; switching traffic to it"))

    steps = step_times(ROW, log, sent=BASE + 0.2, returned=BASE + 6.3)

    assert [round(steps[name], 2) for name, _ in STEPS] == [0.8, 0.5, 2.5, 0.5, 0.3, 0.8, 0.4, 0.3]
    assert round(sum(steps.values()), 2) == 6.1


def test_a_mark_the_pipeline_did_not_record_folds_its_step_into_the_next():
    steps = step_times(ROW, lines((1.5, "-----> Receiving source on h1")), sent=BASE, returned=BASE + 7)

    assert "source unpacked, build container ran" not in steps
    assert round(steps["slug packed and stored, release made"], 2) == 3.0
    assert "| **total (git push to returned)** | 7.00 s |" in steps_table({"static": [steps]})
