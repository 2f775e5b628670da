"""Record histories of the code BEFORE a patch existed: the old branch of `workflow.patched`.

For each target below, the commit that introduced the patch is found with
`git log -S'<patch name>'`; a throwaway worktree is checked out at its parent, and
`scripts/prepatch_driver.py` (from this tree) runs the scenarios there with this tree's
virtualenv. The histories land in tests/replay/histories as `<scenario>_pre-<patch>.json`,
with manifest entries naming the commit that recorded them and the patches they predate.

    .venv/bin/python scripts/record_prepatch.py                       # every target
    .venv/bin/python scripts/record_prepatch.py --patch ranking-notices-detached

The driver imports the package layout older commits had (before "One package per concept");
a target whose parent commit is newer than that reorganisation needs a driver for the new
layout: scripts/record_histories.py's scenarios, run the same way.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "replay" / "histories"
MANIFEST = OUT / "manifest.json"

# patch name → the scenarios that reach its old branch. Patches introduced by the same commit
# share one recording (the first listed names the files).
TARGETS: dict[str, list[str]] = {
    # Parent: round, ladders fed then notices sent, one after the other.
    "ranking-ladders-with-notices": ["round"],
    # Parent (also before delivery-bounded-2026-12, ranking-scheduled-period-detached,
    # ladder-escalate-while-draining): notices delivered by the round itself with unbounded
    # retries; a period-less round ranks the period of workflow.now() and awaits its child;
    # ladders deliver with unbounded retries and wait for deliveries before continuing as new.
    "ranking-notices-detached": ["round", "ladder"],
    # Parent: revisions exist, withdrawn orders are carried over at continue-as-new.
    "ladder-forget-withdrawn-orders": ["ladder"],
}


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def introduced_by(patch: str) -> str:
    commits = git("log", "--reverse", "--format=%H", f"-S{patch}", "--", "workflows", "guatu")
    if not commits:
        raise SystemExit(f"no commit adds {patch!r}")
    return commits.splitlines()[0]


def predated(workflow_type: str, commit: str) -> list[str]:
    """The patches of `workflow_type` that `commit` does not contain: a history it recorded
    takes their old branch (where it reaches them)."""
    from guatu.core.versioning import PATCHES

    ancestors = set(git("rev-list", commit).split())
    return [
        p.name
        for p in PATCHES
        if workflow_type in p.workflows and introduced_by(p.name) not in ancestors
    ]


def reindex() -> None:
    """Recompute every manifest entry's `predates` from its `commit` and PATCHES."""
    index = json.loads(MANIFEST.read_text(encoding="utf-8"))
    for entry in index.values():
        entry["predates"] = predated(entry["workflow_type"], entry["commit"])
    write_manifest(index)


def write_manifest(index: dict[str, dict[str, object]]) -> None:
    MANIFEST.write_text(
        json.dumps(dict(sorted(index.items())), ensure_ascii=False, indent=1) + "\n",
        encoding="utf-8",
    )


def record(patch: str, scenarios: list[str]) -> None:
    commit = introduced_by(patch)
    parent = git("rev-parse", f"{commit}^")
    tree = Path(tempfile.mkdtemp(prefix="guatu-prepatch-tree-"))
    out = Path(tempfile.mkdtemp(prefix="guatu-prepatch-out-"))
    git("worktree", "add", "--detach", str(tree), parent)
    try:
        print(f"{patch}: added by {commit[:10]}, recording at its parent {parent[:10]}")
        cmd = [sys.executable, str(ROOT / "scripts" / "prepatch_driver.py")]
        cmd += ["--root", str(tree), "--out", str(out)]
        for s in scenarios:
            cmd += ["--scenario", s]
        subprocess.run(cmd, cwd=tree, check=True)
        ids = json.loads((out / "ids.json").read_text(encoding="utf-8"))
        index = json.loads(MANIFEST.read_text(encoding="utf-8")) if MANIFEST.exists() else {}
        for name, entry in ids.items():
            file = f"{Path(name).stem}_pre-{patch}.json"
            shutil.copy(out / name, OUT / file)
            index[file] = {
                **entry,
                "commit": parent[:10],
                "recorded_from": f"parent of {commit[:10]}, which added {patch}",
                "scenario": Path(name).stem,
                "predates": predated(entry["workflow_type"], parent),
            }
            print(f"  {file}")
        write_manifest(index)
    finally:
        git("worktree", "remove", "--force", str(tree))
        shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patch", action="append", choices=sorted(TARGETS))
    parser.add_argument(
        "--reindex", action="store_true", help="only recompute `predates` in the manifest"
    )
    args = parser.parse_args()
    if args.reindex:
        reindex()
        return
    for patch in args.patch or TARGETS:
        record(patch, TARGETS[patch])


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
