"""Determinism guard: every committed history must replay on today's workers.

The corpus (tests/replay/histories, described by its manifest) holds histories of every
registered workflow type recorded from main with search attributes registered
(scripts/record_histories.py), and histories recorded from the commit before a patch
(scripts/record_prepatch.py), which take the patch's old branch. A change to workflow code that
would break a running workflow fails here; such a change needs `workflow.patched`.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from temporalio import workflow

from guatu.core.versioning import PATCHES, PatchStage
from tests.replay.corpus import Recorded, corpus, history_files, replay
from tests.replay.replay_workflows import ChangedLifecycle
from workflows.registry import WORKFLOWS

REGISTERED = {workflow._Definition.must_from_class(w).name for w in WORKFLOWS}

# (patch, workflow type) pairs whose old branch no committed history takes, and why.
OLD_BRANCH_NEVER_RAN = {
    ("delivery-bounded-2026-12", "NoticeDelivery"): "NoticeDelivery was added with the patch",
    ("delivery-bounded-2026-12", "RankingAppeal"): (
        "RankingAppeal reached main after the patch (merge b50e50e): no appeal ever ran without it"
    ),
}


def test_manifest_and_files_agree() -> None:
    assert [r.file for r in corpus()] == history_files()


@pytest.mark.parametrize("recorded", corpus(), ids=[r.file.removesuffix(".json") for r in corpus()])
async def test_replay(recorded: Recorded) -> None:
    await replay(recorded, WORKFLOWS)


def test_every_registered_workflow_has_a_history_from_main() -> None:
    from_main = {r.workflow_type for r in corpus() if r.recorded_from == "main" and not r.predates}
    assert REGISTERED <= from_main, f"no history of {sorted(REGISTERED - from_main)}"


def test_lifecycle_histories_carry_the_search_attribute_upserts() -> None:
    """Recorded indexed: the lifecycle's own attributes are upserted in the committed history
    (a change to `_index` that emitted them otherwise would fail replay)."""
    upserted: set[str] = set()
    for r in corpus():
        if r.workflow_type != "ProjectLifecycle" or r.recorded_from != "main" or r.predates:
            continue
        for event in json.loads(r.path.read_text(encoding="utf-8"))["events"]:
            attrs = event.get("upsertWorkflowSearchAttributesEventAttributes")
            if attrs:
                upserted |= set(attrs["searchAttributes"]["indexedFields"])
    assert {"GuatuProgram", "GuatuBureau", "GuatuStage", "GuatuLight"} <= upserted


@pytest.mark.parametrize(
    "name,wf",
    [(p.name, w) for p in PATCHES if p.stage is PatchStage.PATCHED for w in p.workflows],
)
def test_both_branches_of_every_patch_are_in_the_corpus(name: str, wf: str) -> None:
    """New branch: a history of `wf` with the patch's marker. Old branch: a history of `wf`
    recorded by a commit that did not have the patch yet (and so has no marker for it)."""
    of_type = [r for r in corpus() if r.workflow_type == wf]
    assert any(name in r.markers() for r in of_type), f"no {wf} history takes {name}"
    if (name, wf) in OLD_BRANCH_NEVER_RAN:
        return
    old = [r for r in of_type if name in r.predates]
    assert old, f"no {wf} history from before {name}: scripts/record_prepatch.py"
    assert all(name not in r.markers() for r in old)


def test_no_history_needs_a_deprecated_branch() -> None:
    """A deprecated patch has no old branch left: histories from before it leave the corpus in
    the same change (docs/operations.md, "Retiring a patch")."""
    deprecated = {p.name for p in PATCHES if p.stage is PatchStage.DEPRECATED}
    stale = [r.file for r in corpus() if deprecated & set(r.predates)]
    assert stale == []


def _patch_names_in_code() -> set[str]:
    """The first argument of every `patched(...)` / `deprecate_patch(...)` call in workflows/
    and guatu/: a string, or a name bound to one at the top of the same module."""
    root = Path(__file__).resolve().parents[2]  # not at import: the sandbox re-imports this
    names: set[str] = set()
    for path in [*root.glob("workflows/*.py"), *root.glob("guatu/**/*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        consts: dict[str, str] = {}
        for node in tree.body:
            target, value = None, None
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, value = node.targets[0], node.value
            elif isinstance(node, ast.AnnAssign):
                target, value = node.target, node.value
            if isinstance(target, ast.Name) and isinstance(value, ast.Constant):
                if isinstance(value.value, str):
                    consts[target.id] = value.value
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call) or not call.args:
                continue
            func = call.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called not in ("patched", "deprecate_patch"):
                continue
            arg = call.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                names.add(arg.value)
            elif isinstance(arg, ast.Name) and arg.id in consts:
                names.add(consts[arg.id])
            else:
                raise AssertionError(
                    f"{path.relative_to(root)}:{call.lineno}: name the patch with a string or "
                    "a module-level constant"
                )
    return names


def test_patch_registry_matches_the_code() -> None:
    """Every patch name in workflow code is in guatu/core/versioning.py PATCHES, and back."""
    assert _patch_names_in_code() == {p.name for p in PATCHES}


async def test_replayer_detects_a_changed_workflow() -> None:
    """The guard must fail for a workflow that no longer matches history."""
    first = next(r for r in corpus() if r.workflow_type == "ProjectLifecycle")
    result = await replay(first, [ChangedLifecycle], raise_on_failure=False)
    assert result.replay_failure is not None
