"""Typed parsing of Parameter Golf train logs, in every dialect of the merged records.

A log is turned into typed records, each with its 1-based line number, before any check reads it
(MLPerf lesson (d), ANCHORS §6). Only *anchored* lines with literal numbers are records: many logs
start with a dump of the script's own source, whose ``log0(f"... val_bpb:{x:.8f}")`` lines never
match, because a record needs a number right after each key.

Dialects handled (examples are synthetic, in the shapes the records print):
- baseline: ``step:N/M val_loss:.. val_bpb:.. train_time:Nms step_avg:Nms``,
  ``stopping_early: wallclock_cap train_time:Nms step:N/M``, ``Serialized model int8+zlib: N bytes``,
  ``Total submission size int8+zlib: N bytes``, ``final_int8_zlib_roundtrip_exact val_loss:.. val_bpb:..``;
- sliding window: ``final_int6_sliding_window_exact``, ``final_sliding_window_eval_exact stride:64``,
  ``final_sliding val_loss:.. val_bpb:.. (stride=16, T=0.90) eval_time:Nms``;
- TTT: ``legal_ttt_exact``, ``quantized_ttt_lora``, ``ttt_sliding:done val_loss=.. val_bpb=.. elapsed=Ns``,
  phased TTT ``quantized_ttt_phased val_loss:.. val_bpb:.. eval_time:Nms`` and ``total_eval_time:N.Ns``;
- the later format: a ``Hyperparameters:`` dump of ``  key: value`` lines, ``N/M val_loss: .. val_bpb: ..``,
  ``N/M train_loss: .. train_time: N.Nm``, ``Code size (compressed): N bytes``, ``gptq:reserving Ns``,
  ``GPTQ:collected N Hessians in N.Ns``;
- line prefixes: unix timestamps (``1776144156.999 ``), ``[rank0]:``, ``[2026-03-18 14:38:12]``.

Which line is the headline (RULEBOOK §5 "Headline log lines"): among the final evaluation lines
(not periodic validation, not diagnostics such as ``pre-quantization post-ema`` or
``diagnostic quantized``), the evaluator of the highest kind wins — TTT over sliding window over
round trip — then its ``_exact`` line (full precision), then the last one printed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_NUM = r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
_PREFIX = re.compile(r"^(?:\d{9,}(?:\.\d+)?\s+|\[rank\d+\]:\s*|\[\d{4}-\d\d-\d\d[ T][\d:.]+\]\s*)")
_EVAL = re.compile(
    rf"^(?P<label>[A-Za-z0-9_][\w .:/+=,()-]*?)\s*\bval_loss\s*[:=]\s*(?P<loss>{_NUM})\s+"
    rf"(?:sliding\s+)?val_bpb\s*[:=]\s*(?P<bpb>{_NUM})(?P<rest>.*)$"
)
_PERIODIC_LABEL = re.compile(r"^(?:step:\s*)?\d+/\d+$")
_DIAGNOSTIC = re.compile(r"diagnostic|pre-?quant|pre_quant|post[_-]ema|^pre[_ -]|^ema\b", re.I)
_EVAL_MS = re.compile(r"\b(?:eval_)?time:\s*(\d+(?:\.\d+)?)ms")
_ELAPSED_S = re.compile(r"\belapsed=\s*(\d+(?:\.\d+)?)s")
_STRIDE = re.compile(r"\bstride[:=]\s*(\d+)")
_SERIALIZED = re.compile(r"^Serialized model(?:\s+(?P<method>[^:]+?))?:\s*(?P<n>\d+) bytes")
_TOTAL = re.compile(r"^Total submission size(?:\s+(?P<method>[^:]+?))?:\s*(?P<n>\d+) bytes")
_CODE = re.compile(r"^Code size(?:\s*\((?P<kind>[^)]*)\))?:\s*(?P<n>\d+) bytes")
_STOP = re.compile(r"^stopping_early:\s*wallclock_cap\s+train_time:\s*(?P<ms>\d+)ms(?:\s+step:\s*(?P<step>\d+)/(?P<of>\d+))?")
_STEP_MS = re.compile(rf"^step:(?P<step>\d+)/(?P<of>\d+)\s.*?train_time:\s*(?P<ms>\d+)ms(?:\s+step_avg:\s*(?P<avg>{_NUM})ms)?")
_STEP_MIN = re.compile(rf"^(?P<step>\d+)/(?P<of>\d+)\s+train_loss:\s*{_NUM}\s+train_time:\s*(?P<min>{_NUM})m\b")
_RESERVE = re.compile(r"^gptq:reserving\s+(?P<v>\d+(?:\.\d+)?)(?P<unit>ms|s)\b.*?effective=(?P<eff>\d+)ms")
_HESSIANS = re.compile(rf"^(?:GPTQ:collected \d+ Hessians in|gptq:calibrated \d+ layers in)\s*(?P<s>{_NUM})s")
_SELFGEN = re.compile(rf"^gptq:generated \d+ sequences in\s*(?P<s>{_NUM})s")
_TOTAL_EVAL = re.compile(rf"^total_eval_time:\s*(?P<s>{_NUM})s")
_VAL_TOKENS = re.compile(r"^(?:val_tokens:\s*(?P<a>\d+)|val_loader:.*\btokens:(?P<b>\d+))")
_SEED = re.compile(r"^\s*seed[:=]\s*(\d+)\s*$")
_KV_SEED = re.compile(r"(?:^|\s)seed=(\d+)(?:\s|$)")  # one-line ``key=value key=value`` dumps
_ARTIFACT_CODE = re.compile(r"^artifact:[\d.]+MB\b.*\bcode:(?P<n>\d+)\s*$")
_WORLD = re.compile(r"^\s*world_size[:=]\s*(\d+)")
_TOKENIZER_PATH = re.compile(r"tokenizer_path[=:]\s*(\S+)")
_TOKENIZER_KIND_BYTE = re.compile(r"tokenizer_kind=byte|fineweb10B_byte260")
_VOCAB = re.compile(r"^\s*vocab_size[:=]\s*(\d+)")
_CASEOPS = re.compile(r"caseops", re.I)
_GPU = re.compile(r"NVIDIA ((?:GeForce )?(?:H100|H200|H800|A100|A10G?|B200|B100|GH200|L40S?|L4|RTX \w+)[\w ]*?)\s{2,}")
_SEQ_LEN = re.compile(r"(?:^|[\s,])(?P<key>eval_seq_len|train_seq_len)\s*[:=]\s*(?P<n>\d+)")
_WALLCLOCK = re.compile(rf"max_wallclock_seconds[:=]\s*(?P<s>{_NUM})")


@dataclass(frozen=True)
class EvalLine:
    """One ``<label> val_loss:x val_bpb:y`` line."""

    line: int
    label: str
    kind: str  # "periodic" | "diagnostic" | "ttt" | "sliding" | "roundtrip" | "other"
    val_loss: float
    val_bpb: float
    eval_ms: float | None
    stride: int | None
    text: str

    @property
    def exact(self) -> int:
        """2 for an ``*_exact`` line, 1 for a full-precision one (≥ 6 decimals), else 0."""
        if self.label.split()[0].endswith("_exact"):
            return 2
        return 1 if _decimals(self.text, "val_bpb") >= 6 else 0

    @property
    def final(self) -> bool:
        return self.kind not in ("periodic", "diagnostic")


@dataclass(frozen=True)
class Sized:
    """A logged byte count with its line (``method`` is e.g. ``int8+zlib``; empty when unqualified)."""

    line: int
    bytes: int
    method: str = ""


@dataclass(frozen=True)
class Value:
    line: int
    value: float


@dataclass
class TrainLog:
    """Everything a check needs from one train log, each value with the line it came from."""

    path: str
    lines: list[str] = field(repr=False, default_factory=list)
    evals: list[EvalLine] = field(default_factory=list)
    totals: list[Sized] = field(default_factory=list)
    models: list[Sized] = field(default_factory=list)
    code_sizes: list[Sized] = field(default_factory=list)  # method "compressed"/"uncompressed"/""
    stop: Value | None = None  # stopping_early train_time (ms)
    last_step_ms: Value | None = None  # train_time of the last step line (ms)
    step_avg_ms: Value | None = None
    steps: int | None = None
    reserve: Value | None = None  # gptq reserve (ms)
    hessians_s: Value | None = None  # Hessian collection on training data after the loop (s)
    selfgen_s: Value | None = None  # self-generated calibration after the loop (s)
    total_eval_s: Value | None = None
    val_tokens: Value | None = None
    seed: Value | None = None
    world_size: Value | None = None
    tokenizer: str | None = None
    tokenizer_line: int | None = None
    gpus: dict[str, int] = field(default_factory=dict)
    wallclock_s: Value | None = None
    #: the evaluation window from the hyperparameter dump (``eval_seq_len``, else ``train_seq_len``)
    eval_seq_len: Value | None = None

    # ----- derived values -------------------------------------------------------------------
    @property
    def headline(self) -> EvalLine | None:
        """The designated evaluator's final line (module docstring)."""
        finals = [e for e in self.evals if e.final]
        if not finals:
            return None
        rank = {"ttt": 3, "sliding": 2, "roundtrip": 1, "other": 0}
        return max(enumerate(finals), key=lambda ie: (rank[ie[1].kind], ie[1].exact, ie[0]))[1]

    def headline_eval_ms(self) -> float | None:
        """The headline phase's own time: its line, or the timed twin line printing the same value."""
        h = self.headline
        if h is None:
            return None
        if h.eval_ms is not None:
            return h.eval_ms
        twins = [e for e in self.evals if e.final and e.eval_ms is not None and abs(e.val_bpb - h.val_bpb) < 5e-5
                 and e.kind == h.kind]
        base = h.label.split()[0].removesuffix("_exact")
        same = [e for e in twins if e.label.split()[0] == base]  # ``legal_ttt`` for ``legal_ttt_exact``
        pick = same or twins
        return pick[-1].eval_ms if pick else None

    def scoring_phases_ms(self) -> list[EvalLine]:
        """Timed scoring phases after training, one per evaluator (``_exact`` twins share a time)."""
        return [e for e in self.evals if e.kind != "periodic" and e.eval_ms is not None]

    @property
    def total(self) -> Sized | None:
        """The artifact total: the last method-qualified total (an unqualified one is raw torch in the
        baseline), else the last unqualified one."""
        qualified = [t for t in self.totals if t.method]
        return (qualified or self.totals or [None])[-1]

    @property
    def model(self) -> Sized | None:
        qualified = [m for m in self.models if m.method]
        return qualified[-1] if qualified else None

    @property
    def code(self) -> Sized | None:
        """Code bytes as counted by the script (its compressed form when it logs one)."""
        compressed = [c for c in self.code_sizes if c.method == "compressed"]
        return (compressed or [c for c in self.code_sizes if c.method != "uncompressed"] or [None])[-1]

    @property
    def train(self) -> Value | None:
        return self.stop or self.last_step_ms

    @property
    def parsed_fully(self) -> bool:
        """A headline, an artifact total, a training time and a seed were all found."""
        return None not in (self.headline, self.total, self.train, self.seed)


def _decimals(text: str, key: str) -> int:
    m = re.search(rf"{key}\s*[:=]\s*-?\d+\.(\d+)", text)
    return len(m.group(1)) if m else 0


def _kind(label: str) -> str:
    if _PERIODIC_LABEL.match(label):
        return "periodic"
    if _DIAGNOSTIC.search(label):
        return "diagnostic"
    low = label.lower()
    if "ttt" in low:
        return "ttt"
    if "sliding" in low:
        return "sliding"
    if "roundtrip" in low or low.startswith(("final", "quantized")):
        return "roundtrip"
    return "other"


def _tokenizer_from(text: str, caseops: bool) -> str | None:
    if _TOKENIZER_KIND_BYTE.search(text):
        return "byte260"
    m = re.search(r"fineweb_(\d+)_bpe", text) or re.search(r"_sp(\d+)\b", text)
    if not m:
        return None
    name = f"sp{m.group(1)}"
    return f"{name}-caseops" if caseops or _CASEOPS.search(text) else name


def parse_log(path: str | Path, text: str | None = None) -> TrainLog:
    """Parse one train log (``text`` given, or read from ``path`` as UTF-8 with replacement)."""
    if text is None:
        text = Path(path).read_bytes().decode("utf-8", "replace")
    log = TrainLog(path=str(path), lines=text.splitlines())
    caseops = False
    for number, raw in enumerate(log.lines, start=1):
        line = _PREFIX.sub("", raw.rstrip())
        if not line:
            continue
        _parse_line(log, number, line)
        if line.lstrip().startswith("caseops_enabled: True"):
            caseops = True
    if log.tokenizer is None:
        vocab = next((int(m.group(1)) for raw in log.lines if (m := _VOCAB.match(raw))), None)
        if vocab in (1024, 4096, 8192):
            log.tokenizer = f"sp{vocab}-caseops" if caseops and vocab == 8192 else f"sp{vocab}"
    elif caseops and log.tokenizer == "sp8192":
        log.tokenizer = "sp8192-caseops"
    return log


def _parse_line(log: TrainLog, n: int, line: str) -> None:  # noqa: C901 - one flat dispatch table
    if m := _EVAL.match(line):
        label = _STRIDE.sub("", m.group("label")).strip(" :")
        rest = m.group("rest")
        ms = _EVAL_MS.search(rest)
        el = _ELAPSED_S.search(rest)
        stride = _STRIDE.search(line)
        eval_ms = float(ms.group(1)) if ms else (float(el.group(1)) * 1000 if el else None)
        kind = _kind(label)
        if kind == "periodic":
            eval_ms = None  # periodic lines carry train_time, not an eval time
            if sm := _STEP_MS.match(line):
                _note_step(log, n, sm)
        log.evals.append(EvalLine(n, label, kind, float(m.group("loss")), float(m.group("bpb")), eval_ms,
                                  int(stride.group(1)) if stride else None, line))
        return
    if m := _SERIALIZED.match(line):
        log.models.append(Sized(n, int(m.group("n")), (m.group("method") or "").strip()))
    elif m := _TOTAL.match(line):
        log.totals.append(Sized(n, int(m.group("n")), (m.group("method") or "").strip()))
    elif m := _CODE.match(line):
        log.code_sizes.append(Sized(n, int(m.group("n")), (m.group("kind") or "").strip().lower()))
    elif m := _STOP.match(line):
        log.stop = Value(n, float(m.group("ms")))
        if m.group("step"):
            log.steps = int(m.group("step"))
    elif m := _STEP_MS.match(line):
        _note_step(log, n, m)
    elif m := _STEP_MIN.match(line):
        log.last_step_ms = Value(n, float(m.group("min")) * 60_000)
        log.steps = int(m.group("step"))
    elif m := _RESERVE.match(line):
        v = float(m.group("v"))
        log.reserve = Value(n, v if m.group("unit") == "ms" else v * 1000)
    elif m := _HESSIANS.match(line):
        log.hessians_s = Value(n, float(m.group("s")))
    elif m := _SELFGEN.match(line):
        log.selfgen_s = Value(n, float(m.group("s")))
    elif m := _TOTAL_EVAL.match(line):
        log.total_eval_s = Value(n, float(m.group("s")))
    elif m := _VAL_TOKENS.match(line):
        log.val_tokens = Value(n, float(m.group("a") or m.group("b")))
        if log.tokenizer is None and (tok := _tokenizer_from(line, False)):
            log.tokenizer, log.tokenizer_line = tok, n
    elif (m := _SEED.match(line) or (line.count("=") > 5 and _KV_SEED.search(line))) and log.seed is None:
        log.seed = Value(n, float(m.group(1)))
    elif m := _ARTIFACT_CODE.match(line):
        log.code_sizes.append(Sized(n, int(m.group("n"))))
    elif (m := _WORLD.match(line)) and log.world_size is None:
        log.world_size = Value(n, float(m.group(1)))
    if (m := _TOKENIZER_PATH.search(line)) or _TOKENIZER_KIND_BYTE.search(line):
        tok = _tokenizer_from(m.group(1) if m else line, False)
        if tok and (log.tokenizer is None or log.tokenizer_line is None or "tokenizer" in line):
            log.tokenizer, log.tokenizer_line = tok, n
    if m := _GPU.search(line):
        name = re.sub(r"\s+", " ", m.group(1)).strip()
        log.gpus[name] = log.gpus.get(name, 0) + 1
    for m in _SEQ_LEN.finditer(line):
        if log.eval_seq_len is None or (m.group("key") == "eval_seq_len" and "eval" not in log.lines[log.eval_seq_len.line - 1]):
            log.eval_seq_len = Value(n, float(m.group("n")))
    if (m := _WALLCLOCK.search(line)) and log.wallclock_s is None:
        log.wallclock_s = Value(n, float(m.group("s")))


def _note_step(log: TrainLog, n: int, m: re.Match[str]) -> None:
    log.last_step_ms = Value(n, float(m.group("ms")))
    log.steps = int(m.group("step"))
    if m.group("avg"):
        log.step_avg_ms = Value(n, float(m.group("avg")))


def looks_like_log(text: str) -> bool:
    """A train log prints at least one evaluation line or a training step (cheap pre-filter)."""
    return any(_EVAL.match(_PREFIX.sub("", line)) or _STEP_MS.match(line) or _STEP_MIN.match(line)
               for line in text.splitlines()[:20000])
