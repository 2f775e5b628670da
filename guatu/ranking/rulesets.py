"""Versioned rule sets: `config/rules/<id>.json`, validated into `RuleSet` models.

A rule set is identified by its id and version. Its canonical JSON and the SHA-256 of it are
stored with every round that used it; PostgreSQL refuses a second body for the same id and
version (see `activities.ranking`), so a rule file edited without a version bump is caught.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from config.settings import CONFIG_DIR
from guatu.ranking.models import RuleSet

RULES_DIR = CONFIG_DIR / "rules"
DEFAULT_RULESET = "default"
_ID = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


class UnknownRuleSet(LookupError):
    pass


def ruleset_path(ruleset_id: str, directory: Path = RULES_DIR) -> Path:
    if not _ID.match(ruleset_id):
        raise UnknownRuleSet(f"规则集编号不合法：{ruleset_id!r} / invalid rule set id {ruleset_id!r}")
    return directory / f"{ruleset_id}.json"


def load_ruleset(ruleset_id: str = DEFAULT_RULESET, directory: Path = RULES_DIR) -> RuleSet:
    path = ruleset_path(ruleset_id, directory)
    if not path.exists():
        raise UnknownRuleSet(f"没有规则集 {ruleset_id} / no rule set {ruleset_id!r} in {directory}")
    rules = RuleSet.model_validate_json(path.read_text(encoding="utf-8"))
    if rules.id != ruleset_id:
        raise UnknownRuleSet(f"{path.name} declares id {rules.id!r}")
    return rules


def available_rulesets(directory: Path = RULES_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.json") if _ID.match(p.stem))


def canonical_json(data: object) -> str:
    """The one serialisation of stored inputs and results: sorted keys, no spaces, UTF-8."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      allow_nan=False)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def ruleset_canonical(rules: RuleSet) -> str:
    return canonical_json(rules.model_dump(mode="json"))
