"""``submission.json``: schema (validated with jsonschema), loading, and the field variants of the
merged records normalised into one :class:`Claim`, each value with its line in the file.

Variants seen in the challenge (all accepted):
- headline: ``val_bpb`` | ``mean_val_bpb`` | ``mean_bpb``; loss: ``val_loss`` | ``mean_val_loss`` |
  ``val_loss_nats`` | ``mean_val_loss_nats``;
- bytes: ``bytes_total`` | ``artifact_bytes`` | ``artifact_size_bytes`` | ``artifact_bytes_max``;
  code: ``bytes_code`` | ``code_bytes``; model: ``bytes_model_<method>`` | ``bytes_model_compressed``;
- seeds: ``seeds`` as a list of ints or as a dict seed → results, ``seed_results`` (dict), a single
  ``seed``, ``n_seeds``, ``seed_scores`` aligned with a ``seeds`` list;
- per-seed results: ``val_bpb``, ``val_loss``, ``bytes_total`` | ``artifact_bytes``, ``train_time_ms`` |
  ``train_time_s``, ``eval_time_ms`` | ``eval_time_s`` | ``ttt_time_ms`` | ``ttt_eval_time_s``;
- the file itself may be named ``submission_<name>.json`` (reported as a FOLDER warning).

Floats keep the text they were written with (:class:`Num`), so a comparison can allow exactly the
rounding the submitter applied.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

_NUMBER = {"type": ["number", "null"]}
_NUM_OR_LIST = {"anyOf": [_NUMBER, {"type": "array", "items": _NUMBER}]}
_SEED_RESULT = {
    "type": "object",
    "properties": {k: _NUMBER for k in (
        "val_bpb", "val_loss", "bytes_total", "artifact_bytes", "train_time_ms", "train_time_s",
        "eval_time_ms", "eval_time_s", "ttt_time_ms", "ttt_eval_time_s")},
}
#: the accepted shape; ``anyOf`` lists the headline variants, one of which is required
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Parameter Golf submission.json (variants of the merged records)",
    "type": "object",
    "properties": {
        "name": {"type": "string"}, "author": {"type": "string"}, "github_id": {"type": "string"},
        "blurb": {"type": "string"}, "date": {"type": "string"}, "track": {"type": "string"},
        "hardware": {"type": "string"},
        **{k: _NUMBER for k in ("val_bpb", "mean_val_bpb", "mean_bpb", "val_loss", "mean_val_loss",
                                "val_loss_nats", "mean_val_loss_nats", "val_bpb_std", "val_loss_std")},
        **{k: {"type": ["integer", "null"], "minimum": 0} for k in (
            "bytes_total", "bytes_code", "code_bytes", "artifact_bytes", "artifact_size_bytes",
            "artifact_bytes_max", "n_seeds")},
        "seed": {"type": "integer"},
        "seeds": {"anyOf": [{"type": "array", "items": {"type": "integer"}},
                            {"type": "array", "items": {**_SEED_RESULT, "required": ["seed"],
                                                        "properties": {**_SEED_RESULT["properties"],
                                                                       "seed": {"type": "integer"}}}},
                            {"type": "object", "additionalProperties": _SEED_RESULT}]},
        "seed_results": {"type": "object", "additionalProperties": _SEED_RESULT},
        "seed_scores": {"type": "array", "items": _NUMBER},
        "train_time_seconds": _NUM_OR_LIST, "eval_time_seconds": _NUM_OR_LIST,
        "wallclock_seconds": _NUMBER,
    },
    "anyOf": [{"required": [k], "properties": {k: {"type": "number"}}} for k in ("val_bpb", "mean_val_bpb", "mean_bpb")],
}
#: metadata the README's example carries; missing ones are a warning, not a failure
METADATA = ("name", "author", "github_id", "date")


class Num(float):
    """A JSON number that remembers how it was written (for rounding-aware comparisons)."""

    text: str

    def __new__(cls, text: str) -> "Num":
        obj = super().__new__(cls, float(text))
        obj.text = text
        return obj

    @property
    def decimals(self) -> int:
        mantissa = self.text.lower().split("e")[0]
        return len(mantissa.split(".")[1]) if "." in mantissa else 0

    @property
    def rounding(self) -> float:
        """Half a unit in the last written decimal: how far the true value may be from this one."""
        exp = re.search(r"e([-+]?\d+)", self.text.lower())
        return 0.5 * 10.0 ** (-self.decimals + (int(exp.group(1)) if exp else 0))


@dataclass(frozen=True)
class Claimed:
    """One claimed value and the line of ``submission.json`` it is written on."""

    value: float
    line: int
    key: str

    @property
    def rounding(self) -> float:
        return self.value.rounding if isinstance(self.value, Num) else 0.0


@dataclass
class SeedClaim:
    seed: int
    line: int
    val_bpb: Claimed | None = None
    val_loss: Claimed | None = None
    bytes_total: Claimed | None = None
    train_ms: Claimed | None = None
    eval_ms: Claimed | None = None


@dataclass
class Claim:
    """What ``submission.json`` claims, normalised over the variants."""

    path: str
    data: dict[str, Any]
    val_bpb: Claimed | None = None
    val_loss: Claimed | None = None
    bytes_total: Claimed | None = None
    bytes_code: Claimed | None = None
    bytes_model: Claimed | None = None
    n_seeds: Claimed | None = None
    seeds: dict[int, SeedClaim] = field(default_factory=dict)
    track: str | None = None
    date: str | None = None
    date_line: int = 1
    hardware: str | None = None
    #: set when no val_bpb key exists and the headline was read from this other key (a variant)
    headline_key: str | None = None


@dataclass
class SchemaProblem:
    line: int
    message: str
    fatal: bool
    #: "parse" (not a JSON object), "no-claim" (no val_bpb under any known key), "variant" (a field
    #: in a shape the schema does not list), "metadata" (a README metadata field missing)
    kind: str = "variant"


class _Lines:
    """Map a key path to the line where it is written (first match after the parent key)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def of(self, *keys: str) -> int:
        pos = 0
        for key in keys:
            m = re.compile(rf'"{re.escape(str(key))}"\s*:').search(self.text, pos)
            if m is None:
                break
            pos = m.start()
        return self.text.count("\n", 0, pos) + 1


def load_submission(path: Path) -> tuple[Claim | None, list[SchemaProblem]]:
    """Parse and validate; ``None`` when the file does not parse as a JSON object."""
    raw = path.read_bytes().decode("utf-8", "replace")
    try:
        data = json.loads(raw, parse_float=Num)
    except json.JSONDecodeError as exc:
        return None, [SchemaProblem(exc.lineno, f"submission.json does not parse: {exc.msg}", True, "parse")]
    if not isinstance(data, dict):
        return None, [SchemaProblem(1, "submission.json is not a JSON object", True, "parse")]
    lines = _Lines(raw)
    problems = [
        SchemaProblem(lines.of(*map(str, err.absolute_path)) if err.absolute_path else 1,
                      _schema_message(err), True,
                      "no-claim" if err.validator == "anyOf" and not err.absolute_path else "variant")
        for err in sorted(jsonschema.Draft202012Validator(SCHEMA).iter_errors(data), key=lambda e: list(e.path))
    ]
    problems += [SchemaProblem(1, f"submission.json lacks the metadata field {k!r}", False, "metadata")
                 for k in METADATA if k not in data and not (k == "name" and "run_name" in data)]
    return _normalise(path, data, lines), problems


def _schema_message(err: jsonschema.ValidationError) -> str:
    if err.validator == "anyOf" and not err.absolute_path:
        return "submission.json has no val_bpb (nor mean_val_bpb / mean_bpb) claim"
    where = ".".join(map(str, err.absolute_path)) or "(top level)"
    return f"submission.json field {where}: {err.message}"


def _num(data: dict[str, Any], lines: _Lines, keys: tuple[str, ...], *parents: str) -> Claimed | None:
    for key in keys:
        value = data.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return Claimed(value, lines.of(*parents, key), key)
    return None


def _normalise(path: Path, data: dict[str, Any], lines: _Lines) -> Claim:
    claim = Claim(path=str(path), data=data)
    claim.val_bpb = _num(data, lines, ("val_bpb", "mean_val_bpb", "mean_bpb"))
    claim.val_loss = _num(data, lines, ("val_loss", "mean_val_loss", "val_loss_nats", "mean_val_loss_nats"))
    claim.bytes_total = _num(data, lines, ("bytes_total", "artifact_bytes", "artifact_size_bytes",
                                           "artifact_bytes_max"))
    claim.bytes_code = _num(data, lines, ("bytes_code", "code_bytes"))
    model_keys = tuple(k for k in data if k.startswith("bytes_model"))
    claim.bytes_model = _num(data, lines, model_keys)
    claim.n_seeds = _num(data, lines, ("n_seeds",))
    for key in ("track", "date", "hardware"):
        if isinstance(data.get(key), str):
            setattr(claim, key, data[key])
    claim.date_line = lines.of("date")
    _seed_claims(claim, data, lines)
    return claim


def _seed_claims(claim: Claim, data: dict[str, Any], lines: _Lines) -> None:
    seeds = data.get("seeds")
    results: dict[str, Any] = {}
    parent = ""
    if isinstance(seeds, dict):
        results, parent = seeds, "seeds"
    elif isinstance(data.get("seed_results"), dict):
        results, parent = data["seed_results"], "seed_results"
    for key, res in results.items():
        if not str(key).lstrip("-").isdigit():
            continue
        if isinstance(res, (int, float)) and not isinstance(res, bool):  # a per-seed map of bare numbers
            s = int(key)
            claim.seeds[s] = SeedClaim(s, lines.of(parent, str(key)),
                                       val_bpb=Claimed(res, lines.of(parent, str(key)), f"{parent}.{key}"))
            continue
        if not isinstance(res, dict):
            continue
        s = int(key)
        claim.seeds[s] = SeedClaim(
            s, lines.of(parent, str(key)),
            val_bpb=_num(res, lines, ("val_bpb",), parent, str(key)),
            val_loss=_num(res, lines, ("val_loss",), parent, str(key)),
            bytes_total=_num(res, lines, ("bytes_total", "artifact_bytes"), parent, str(key)),
            train_ms=_scaled(_num(res, lines, ("train_time_ms", "train_time_s"), parent, str(key))),
            eval_ms=_scaled(_num(res, lines, ("eval_time_ms", "eval_time_s", "ttt_time_ms", "ttt_eval_time_s"),
                                 parent, str(key))),
        )
    if isinstance(seeds, list):
        scores = data.get("seed_scores") if isinstance(data.get("seed_scores"), list) else []
        for i, item in enumerate(seeds):
            if isinstance(item, dict) and isinstance(item.get("seed"), int) and item["seed"] not in claim.seeds:
                # seeds listed as objects: {"seed": 42, "val_bpb": ...}
                s, line = item["seed"], _item_line(lines, "seeds", i)
                claim.seeds[s] = SeedClaim(
                    s, line,
                    val_bpb=_at(item, line, ("val_bpb",)), val_loss=_at(item, line, ("val_loss",)),
                    bytes_total=_at(item, line, ("bytes_total", "artifact_bytes")),
                    train_ms=_scaled(_at(item, line, ("train_time_ms", "train_time_s"))),
                    eval_ms=_scaled(_at(item, line, ("eval_time_ms", "eval_time_s", "ttt_time_ms", "ttt_eval_time_s"))),
                )
        for i, s in enumerate(seeds):
            if isinstance(s, int) and not isinstance(s, bool) and s not in claim.seeds:
                sc = SeedClaim(s, lines.of("seeds"))
                if i < len(scores) and isinstance(scores[i], (int, float)):
                    sc.val_bpb = Claimed(scores[i], lines.of("seed_scores"), "seed_scores")
                claim.seeds[s] = sc
    if not claim.seeds and isinstance(data.get("seed"), int):
        claim.seeds[data["seed"]] = SeedClaim(data["seed"], lines.of("seed"))


def _item_line(lines: _Lines, key: str, index: int) -> int:
    """The line of the ``index``-th ``"seed":`` entry after ``key`` (objects in a list have no key path)."""
    start = re.compile(rf'"{re.escape(key)}"\s*:').search(lines.text)
    if start is None:
        return 1
    hits = list(re.finditer(r'"seed"\s*:', lines.text[start.end():]))
    pos = start.end() + hits[index].start() if index < len(hits) else start.start()
    return lines.text.count("\n", 0, pos) + 1


def _at(item: dict[str, Any], line: int, keys: tuple[str, ...]) -> Claimed | None:
    for key in keys:
        value = item.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return Claimed(value, line, key)
    return None


def _scaled(c: Claimed | None) -> Claimed | None:
    """Times in milliseconds, whatever unit the key names."""
    if c is None or c.key.endswith("_ms"):
        return c
    return Claimed(float(c.value) * 1000.0, c.line, c.key)
