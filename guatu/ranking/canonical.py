"""Fast canonical JSON of round results, byte-identical to `canonical_json(model_dump(mode="json"))`.

A round of 10,000 projects publishes some 25 MB of canonical JSON. Dumping the pydantic model
first and then sorting every key of it is the slow part of a round, and the flattened
`ranking_entries` rows need each row's breakdown as JSON again. Here each row is serialised
once: its breakdown (a list of plain `Line` dicts) and the rest of the row are dumped with the
very settings of `canonical_json`, and the pieces are joined in sorted key order, which is
exactly what `json.dumps(..., sort_keys=True)` writes for the whole document. The breakdown
texts are kept for the entries. `tests/ranking` compare the result with the model dump.

Any value `json.dumps` refuses (NaN, infinity: pydantic would write null) falls back to the
model dump, so the bytes never depend on which path ran.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from guatu.ranking.models import Level, LevelResult, RankedRow, RedProject, RoundResults
from guatu.ranking.rulesets import canonical_json

_encode = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
).encode

# "breakdown" sorts before every other field of a row: a row is '{"breakdown":…,' + the rest.
_ROW_FIELDS = sorted(RankedRow.model_fields)
assert _ROW_FIELDS[0] == "breakdown", _ROW_FIELDS
_REDPROJECT_FIELDS = ("code", "name_zh", "streak", "red_months")
assert set(_REDPROJECT_FIELDS) == set(RedProject.model_fields)
assert sorted(LevelResult.model_fields) == ["black_list", "exempted", "red_list", "rows"]


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while a round builds its hundreds of thousands of small,
    acyclic objects: the collector would walk all of them again and again, for nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _row_rest(r: RankedRow) -> dict[str, Any]:
    d = r.__dict__
    listed = d["listed"]
    return {
        "level": d["level"].value,
        "code": d["code"],
        "name_zh": d["name_zh"],
        "rank": d["rank"],
        "of": d["of"],
        "score": d["score"],
        "previous_rank": d["previous_rank"],
        "movement": d["movement"],
        "listed": listed.value if listed is not None else None,
        "target_met": d["target_met"],
        "exempted": d["exempted"],
        "investment_ratio": d["investment_ratio"],
        "weight": d["weight"],
        "members": d["members"],
        "bureau": d["bureau"],
        "program": d["program"],
        "red_projects": [{k: getattr(p, k) for k in _REDPROJECT_FIELDS} for p in d["red_projects"]],
    }


@dataclass
class ResultsText:
    text: str  # canonical JSON of the whole results
    breakdowns: dict[Level, list[str]]  # per level, per row (in rank order): the breakdown JSON


class ResultsWriter:
    """Writes the canonical JSON of a round row by row: `rows()` yields each row with its
    breakdown JSON as soon as it is written (so that a caller can stream the rows elsewhere
    meanwhile); once it is exhausted, `text()` is the whole document."""

    def __init__(self, results: RoundResults) -> None:
        self.results = results
        self._out: list[str] = []
        self._done = False

    def rows(self) -> Iterator[tuple[Level, RankedRow, str]]:
        results = self.results
        out = self._out  # pieces of the document in order, joined once at the end
        head = {
            k: _encode(v) for k, v in results.model_dump(mode="json", exclude={"levels"}).items()
        }
        keys = sorted([*head, "levels"])
        assert set(keys) == set(RoundResults.model_fields)
        by_value = {level.value: (level, lr) for level, lr in results.levels.items()}
        for i, key in enumerate(keys):
            out.append(("{" if i == 0 else ",") + _encode(key) + ":")
            if key != "levels":
                out.append(head[key])
                continue
            out.append("{")
            for j, name in enumerate(sorted(by_value)):
                level, lr = by_value[name]
                # LevelResult's keys in sorted order: black_list, exempted, red_list, rows.
                out.append(
                    ("" if j == 0 else ",")
                    + _encode(name)
                    + ':{"black_list":'
                    + _encode(lr.black_list)
                    + ',"exempted":'
                    + _encode(lr.exempted)
                    + ',"red_list":'
                    + _encode(lr.red_list)
                    + ',"rows":['
                )
                for k, r in enumerate(lr.rows):
                    bd = _encode(r.breakdown)
                    out.append('{"breakdown":' if k == 0 else ',{"breakdown":')
                    out.append(bd)
                    out.append("," + _encode(_row_rest(r))[1:])
                    yield level, r, bd
                out.append("]}")
            out.append("}")
        out.append("}")
        self._done = True

    def text(self) -> str:
        assert self._done, "rows() not exhausted"
        return "".join(self._out)


def _fast(results: RoundResults) -> ResultsText:
    writer = ResultsWriter(results)
    breakdowns: dict[Level, list[str]] = {level: [] for level in results.levels}
    for level, _row, bd in writer.rows():
        breakdowns[level].append(bd)
    return ResultsText(writer.text(), breakdowns)


def results_text(results: RoundResults) -> ResultsText:
    """The canonical JSON of a round's results and each row's breakdown JSON."""
    with paused_gc():
        try:
            return _fast(results)
        except ValueError:
            text = canonical_json(results.model_dump(mode="json"))
            return ResultsText(
                text,
                {
                    level: [canonical_json(r.model_dump(mode="json")["breakdown"]) for r in lr.rows]
                    for level, lr in results.levels.items()
                },
            )


def results_canonical(results: RoundResults) -> str:
    return results_text(results).text


__all__ = ["ResultsText", "ResultsWriter", "paused_gc", "results_canonical", "results_text"]
