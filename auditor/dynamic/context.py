"""What the probes read: the base run, its tape view, the headline pass and scores, fork results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from auditor.dynamic.data import SyntheticData
from auditor.dynamic.sandbox import RunResult
from auditor.dynamic.scores import Scores
from auditor.dynamic.tape import Coverage, Pass, Reported, TapeView
from auditor.findings import Provenance


@dataclass
class ForkResult:
    """Counterfactual runs forked at the start of the headline pass (flip and sweep variants)."""

    control: Scores | None  # the unperturbed continuation (the parent of the forks)
    variants: dict[str, tuple[list, Scores | None]] = field(default_factory=dict)  # id -> (edits, scores)
    problems: list[str] = field(default_factory=list)
    reason: str = ""  # why forking was not possible, if it was not
    rows: dict[int, list[float]] = field(default_factory=dict)  # watched position -> the control's normalizing row
    cover: Coverage | None = None  # the control's line record of the headline pass


@dataclass
class Context:
    path: str
    provenance: Provenance | None
    data: SyntheticData
    base: RunResult
    view: TapeView
    reported: Reported | None
    headline: Pass | None
    scores: Scores | None
    code_bytes: int  # bytes of the main file as shipped
    helper_files: dict[str, int]  # other code files in the folder that the run may use -> bytes
    forks: ForkResult | None = None
    blocked: str | None = None  # why the run reached no verdict at all (e.g. a Triton kernel)
    tiny_notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def stream(self) -> np.ndarray:
        return self.data.val_stream

    def headline_line(self) -> int:
        e = next((e for e in self.base.tape if self.reported and e["i"] == self.reported.event), None)
        return (e or {}).get("line") or 1
