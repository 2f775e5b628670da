"""The workflow suites once more with `max_cached_workflows=0`: every task replays.

Every workflow type: the lifecycle suite (tests/workflows), the ladder, the rounds (with their
NoticeDelivery children) and the appeal.

Without a cache a worker keeps no workflow in memory between tasks: each workflow task rebuilds
the workflow from its full history, so any non-determinism (a branch on something other than
history) fails the replay. The suite runs in a child pytest with `GUATU_TEST_MAX_CACHED_WORKFLOWS=0`,
which the `settings` fixture reads; `replay_probe.py` runs beside it and checks the workers of
that run are really built without a cache.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

from tests.faults.support import ROOT

SUITES = [
    "tests/workflows",
    "tests/ranking/test_ladder.py",
    "tests/ranking/test_round.py",
    "tests/appeals/test_appeal_workflow.py",
]


def test_workflow_suite_green_with_every_task_replayed() -> None:
    began = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rA",
            "-p",
            "no:cacheprovider",
            *SUITES,
            "tests/faults/replay_probe.py",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "GUATU_TEST_MAX_CACHED_WORKFLOWS": "0"},
    )
    elapsed = time.monotonic() - began
    output = result.stdout + result.stderr
    passed = re.findall(r"^PASSED (\S+)", output, re.MULTILINE)
    # pytest's own summary line ("N passed, … in Ts"), wherever the servers' log lines that
    # follow it on stderr put it.
    summaries = re.findall(
        r"^.*\b\d+ (?:passed|failed)\b.* in [\d.]+s.*$", result.stdout, re.MULTILINE
    )
    summary = summaries[-1] if summaries else ""
    workflow_tests = [t for t in passed if t.startswith("tests/workflows/")]
    other = {s: [t for t in passed if t.startswith(s)] for s in SUITES[1:]}
    print(
        f"\nmax_cached_workflows=0: {len(workflow_tests)} lifecycle tests, "
        f"{sum(map(len, other.values()))} ladder/round/appeal tests passed, probe "
        f"{'passed' if any('replay_probe' in t for t in passed) else 'missing'}; "
        f"'{summary}' in {elapsed:.0f}s"
    )
    assert result.returncode == 0, output[-6000:]
    assert re.search(r"\b(failed|error|errors|skipped)\b", summary) is None, summary
    assert "tests/faults/replay_probe.py::test_workers_of_this_run_cache_nothing" in passed
    assert len(workflow_tests) >= 18
    # At least the tests each suite had when it joined (more may be added).
    least = {
        "tests/ranking/test_ladder.py": 4,
        "tests/ranking/test_round.py": 3,
        "tests/appeals/test_appeal_workflow.py": 3,
    }
    assert all(len(other[s]) >= n for s, n in least.items()), other
