"""A helper module is judged by how the main script calls it: its entry points and argument values."""

from __future__ import annotations

from pathlib import Path

from auditor.engine import AuditOptions, audit

HELPER = '''\
import numpy as np


class WordState:
    def step(self, tokens, starts_word):
        hint = np.zeros(len(tokens), dtype=np.int64)
        ctx = 0
        for i, tok in enumerate(tokens):
            if starts_word[tok]:
                hint[i] = self.best.get(ctx, 0)
            self.best[ctx] = tok
            ctx = tok
        return hint


class TokenState:
    def step(self, tokens):
        return np.zeros(len(tokens), dtype=np.int64)


def build_hints(tokens, starts_word, word_boost=0.75):
    token_state = TokenState()
    hints = token_state.step(tokens)
    word_enabled = word_boost > 0.0
    if word_enabled:
        word_state = WordState()
        hints = word_state.step(tokens, starts_word)
    return hints
'''

MAIN = '''\
import os

import numpy as np
import torch
import torch.nn.functional as F

from hints import build_hints


class Hyperparameters:
    word_boost = float(os.environ.get("WORD_BOOST", "{default}"))


def main():
    args = Hyperparameters()
    y = torch.from_numpy(np.fromfile("fineweb_val_000000.bin", dtype=np.uint16)).long()
    starts = np.ones(1024, dtype=bool)
    hint = build_hints(y.numpy(), starts, word_boost=args.word_boost)
    logits = torch.zeros(len(y), 1024)
    logits[torch.arange(len(y)), torch.from_numpy(hint)] += 1.0
    loss = F.cross_entropy(logits, y)
    print(loss)


if __name__ == "__main__":
    main()
'''


def _audit(tmp_path: Path, default: str) -> list[tuple[str, str, int, str]]:
    (tmp_path / "hints.py").write_text(HELPER)
    (tmp_path / "train_gpt.py").write_text(MAIN.format(default=default))
    result = audit(tmp_path / "train_gpt.py", AuditOptions(dynamic=False, select=("PG102",)))
    return sorted((f.code, Path(f.path).name, f.line, f.level.name) for f in result.findings)


def test_target_gated_channel_the_main_script_switches_on_fails(tmp_path: Path) -> None:
    assert _audit(tmp_path, "0.75") == [("PG102", "hints.py", 10, "FAIL")]


def test_the_same_channel_switched_off_by_the_caller_is_only_review(tmp_path: Path) -> None:
    # the receiver's class decides which ``step`` runs: TokenState.step (ungated) does not make
    # WordState.step live
    assert _audit(tmp_path, "0.0") == [("PG102", "hints.py", 10, "REVIEW")]
