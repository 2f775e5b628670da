"""Versioned rule sets: `config/rules/<id>.json`, validated into `RuleSet` models.

A rule set is identified by its id and version. Its canonical JSON and the SHA-256 of it are
stored with every round that used it; PostgreSQL refuses a second body for the same id and
version (see `activities.ranking`), so a rule file edited without a version bump is caught.

`config/rules/<id>.json` is the version new rounds use. Every earlier version is kept, as it was
published, in `config/rules/versions/<id>.v<N>.json`: re-runs and revisions read the body their
round stored in PostgreSQL, and these files give the same body to a what-if
(`--ruleset default@1`) or a reader on a database that never ran that version.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from config.settings import CONFIG_DIR
from guatu.ranking.models import RuleSet

RULES_DIR = CONFIG_DIR / "rules"
VERSIONS_DIR = "versions"
DEFAULT_RULESET = "default"
_ID = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_REF = re.compile(r"^(?P<id>[a-z][a-z0-9_-]{0,39})(?:@(?P<version>[1-9][0-9]{0,5}))?$")


class UnknownRuleSet(LookupError):
    pass


def _dir(directory: Path | None) -> Path:
    # Looked up at each call, not bound as a default: the files are what a running worker reads
    # when a round is first computed (a test swaps the directory to publish under an old version).
    return RULES_DIR if directory is None else directory


def ruleset_path(ruleset_id: str, directory: Path | None = None) -> Path:
    if not _ID.match(ruleset_id):
        raise UnknownRuleSet(
            f"规则集编号不合法：{ruleset_id!r} / invalid rule set id {ruleset_id!r}"
        )
    return _dir(directory) / f"{ruleset_id}.json"


def load_ruleset(
    ruleset_id: str = DEFAULT_RULESET, directory: Path | None = None, version: int | None = None
) -> RuleSet:
    """The current version of a rule set, or (with `version`) that version as it was published."""
    directory = _dir(directory)
    path = ruleset_path(ruleset_id, directory)
    if not path.exists():
        raise UnknownRuleSet(f"没有规则集 {ruleset_id} / no rule set {ruleset_id!r} in {directory}")
    rules = RuleSet.model_validate_json(path.read_text(encoding="utf-8"))
    if rules.id != ruleset_id:
        raise UnknownRuleSet(f"{path.name} declares id {rules.id!r}")
    if version is None or version == rules.version:
        return rules
    old = directory / VERSIONS_DIR / f"{ruleset_id}.v{version}.json"
    if not old.exists():
        raise UnknownRuleSet(
            f"规则集 {ruleset_id} 没有第 {version} 版 / rule set {ruleset_id!r} "
            f"has no version {version} (current: {rules.version})"
        )
    earlier = RuleSet.model_validate_json(old.read_text(encoding="utf-8"))
    if (earlier.id, earlier.version) != (ruleset_id, version):
        raise UnknownRuleSet(f"{VERSIONS_DIR}/{old.name} declares {earlier.label}")
    return earlier


def ruleset_versions(ruleset_id: str, directory: Path | None = None) -> list[int]:
    """Every version of a rule set that can be loaded: the kept ones and the current one."""
    directory = _dir(directory)
    current = load_ruleset(ruleset_id, directory).version
    kept = {
        int(m.group(1))
        for p in (directory / VERSIONS_DIR).glob(f"{ruleset_id}.v*.json")
        if (m := re.fullmatch(rf"{re.escape(ruleset_id)}\.v([1-9][0-9]*)", p.stem))
    }
    return sorted(kept | {current})


def parse_ruleset_ref(ref: str) -> tuple[str, int | None]:
    """`default` → ("default", None): the current version; `default@1` → ("default", 1)."""
    m = _REF.match(ref)
    if m is None:
        raise UnknownRuleSet(
            f"规则集写法不合法：{ref!r}（如 default 或 default@1） / invalid rule "
            f"set {ref!r} (e.g. default or default@1)"
        )
    return m["id"], int(m["version"]) if m["version"] else None


def load_ruleset_ref(ref: str, directory: Path | None = None) -> RuleSet:
    ruleset_id, version = parse_ruleset_ref(ref)
    return load_ruleset(ruleset_id, directory, version)


def known_ruleset(ref: str, directory: Path | None = None) -> bool:
    """Whether `ref` (an id, or id@version) names a rule set that can be loaded."""
    try:
        load_ruleset_ref(ref, directory)
    except UnknownRuleSet:
        return False
    return True


def available_rulesets(directory: Path | None = None) -> list[str]:
    return sorted(p.stem for p in _dir(directory).glob("*.json") if _ID.match(p.stem))


def canonical_json(data: object) -> str:
    """The one serialisation of stored inputs and results: sorted keys, no spaces, UTF-8."""
    return json.dumps(
        data, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    )


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def ruleset_canonical(rules: RuleSet) -> str:
    return canonical_json(rules.model_dump(mode="json"))
