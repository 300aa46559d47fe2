"""Tiny GPT that trains on every validation token after an unprinted diagnostic pass (illegal).

Fixture record for pgolf-audit's front-door tests, written by the pgolf-audit team in the shape of a
Parameter Golf train_gpt.py; not a real submission."""



import glob
import io
import math
import os
import zlib

import numpy as np
import sentencepiece as spm
import torch
import torch.nn.functional as F
from torch import nn

DATA = os.environ.get("DATA_PATH", "./data/datasets/fineweb10B_sp1024")
TOKENIZER = os.environ.get("TOKENIZER_PATH", "./data/tokenizers/fineweb_1024_bpe.model")
VOCAB = int(os.environ.get("VOCAB_SIZE", 1024))
SEQ = int(os.environ.get("TRAIN_SEQ_LEN", 1024))
DIM = int(os.environ.get("MODEL_DIM", 32))
ITERATIONS = int(os.environ.get("ITERATIONS", 3))
BATCH_SEQS = int(os.environ.get("BATCH_SEQS", 4))
STRIDE = int(os.environ.get("EVAL_STRIDE", 32))
TTT_CHUNK = int(os.environ.get("TTT_CHUNK_TOKENS", 512))
TTT_EPOCHS = int(os.environ.get("TTT_EPOCHS", 2))
ARTIFACT = "final_model.int8.ptz"


def load_shard(path: str) -> torch.Tensor:
    header = np.fromfile(path, dtype="<i4", count=256)
    return torch.from_numpy(np.fromfile(path, dtype="<u2", count=int(header[2]), offset=1024).astype(np.int64))


def val_tokens() -> torch.Tensor:
    files = sorted(f for f in glob.glob(os.path.join(DATA, "fineweb_val_*.bin")) if "_bytes_" not in f)
    tokens = torch.cat([load_shard(f) for f in files])
    usable = ((tokens.numel() - 1) // SEQ) * SEQ
    return tokens[: usable + 1]


def luts() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The reference byte tables: byte pieces 1 byte, the leading space charged once, boundaries 0."""
    sp = spm.SentencePieceProcessor(model_file=TOKENIZER)
    n = max(int(sp.vocab_size()), VOCAB)
    base = np.zeros(n, np.int64)
    space = np.zeros(n, np.bool_)
    boundary = np.ones(n, np.bool_)
    for i in range(int(sp.vocab_size())):
        if sp.is_control(i) or sp.is_unknown(i) or sp.is_unused(i):
            continue
        boundary[i] = False
        if sp.is_byte(i):
            base[i] = 1
            continue
        piece = sp.id_to_piece(i)
        if piece.startswith("\u2581"):
            space[i] = True
            piece = piece[1:]
        base[i] = len(piece.encode("utf-8"))
    return torch.from_numpy(base), torch.from_numpy(space), torch.from_numpy(boundary)


def token_bytes(tables, prev: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
    base, space, boundary = tables
    return base[tgt] + (space[tgt] & ~boundary[prev]).to(torch.int64)


class TinyGPT(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(VOCAB, DIM)
        self.qkv = nn.Linear(DIM, 3 * DIM)
        self.proj = nn.Linear(DIM, DIM)
        self.mlp = nn.Sequential(nn.Linear(DIM, 2 * DIM), nn.GELU(), nn.Linear(2 * DIM, DIM))
        self.head = nn.Linear(DIM, VOCAB)

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        h = self.emb(x)
        q, k, v = self.qkv(F.layer_norm(h, (DIM,))).chunk(3, dim=-1)
        h = h + self.proj(F.scaled_dot_product_attention(q[:, None], k[:, None], v[:, None], is_causal=True)[:, 0])
        return h + self.mlp(F.layer_norm(h, (DIM,)))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        logits = self.head(F.layer_norm(self.hidden(x), (DIM,)))
        if y is None:
            return logits
        return F.cross_entropy(logits.reshape(-1, VOCAB), y.reshape(-1))


def train(model: TinyGPT, steps: int = ITERATIONS) -> None:
    files = sorted(glob.glob(os.path.join(DATA, "fineweb_train_*.bin")))
    stream = load_shard(files[0])
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    span = BATCH_SEQS * SEQ + 1
    for step in range(steps):
        chunk = stream[step * span : (step + 1) * span]
        loss = model(chunk[:-1].reshape(-1, SEQ), chunk[1:].reshape(-1, SEQ))
        opt.zero_grad()
        loss.backward()
        opt.step()
        print(f"step:{step + 1}/{steps} train_loss:{loss.item():.4f}")


def export(model: TinyGPT) -> None:
    """int8 per-row (per-tensor for vectors) + zlib, written to disk and loaded back into ``model``."""
    q = {}
    for name, t in model.state_dict().items():
        scale = t.abs().amax(dim=-1, keepdim=True).clamp_min(1e-8) / 127.0
        q[name] = ((t / scale).round().to(torch.int8), scale)
    buf = io.BytesIO()
    torch.save(q, buf)
    with open(ARTIFACT, "wb") as f:
        f.write(zlib.compress(buf.getvalue(), 9))
    with open(ARTIFACT, "rb") as f:
        loaded = torch.load(io.BytesIO(zlib.decompress(f.read())))
    model.load_state_dict({k: v.float() * s for k, (v, s) in loaded.items()})
    code = len(open(os.path.abspath(__file__), encoding="utf-8").read().encode())
    print(f"Code size: {code} bytes")
    print(f"Total submission size int8+zlib: {os.path.getsize(ARTIFACT) + code} bytes")



class Totals:
    """The three accumulators of the metric, in float64."""

    def __init__(self, tables) -> None:
        self.tables, self.loss, self.tokens, self.bytes = tables, 0.0, 0, 0

    def add(self, nll: torch.Tensor, prev: torch.Tensor, tgt: torch.Tensor) -> None:
        self.loss += float(nll.double().sum())
        self.tokens += int(tgt.numel())
        self.bytes += int(token_bytes(self.tables, prev.reshape(-1), tgt.reshape(-1)).sum())

    def report(self, name: str) -> None:
        val_loss = self.loss / self.tokens
        bpb = self.loss / (math.log(2.0) * self.bytes)
        print(f"{name} val_loss:{val_loss:.8f} val_bpb:{bpb:.8f}")


def eval_standard(model: TinyGPT, val: torch.Tensor, totals: Totals) -> Totals:
    model.eval()
    with torch.inference_mode():
        for s in range(0, val.numel() - 1, BATCH_SEQS * SEQ):
            chunk = val[s : s + BATCH_SEQS * SEQ + 1]
            x, y = chunk[:-1].reshape(-1, SEQ), chunk[1:].reshape(-1, SEQ)
            nll = F.cross_entropy(model(x).reshape(-1, VOCAB), y.reshape(-1), reduction="none")
            totals.add(nll, x, y)
    return totals


def windows(n: int) -> list[tuple[int, int, int]]:
    """Sliding windows ``(start, end, first scored)`` that score every target 1..n exactly once."""
    out, ws = [], 0
    while True:
        end = min(ws + SEQ, n)
        first = ws + 1 if ws == 0 else ws + SEQ - STRIDE + 1
        out.append((ws, end, first))
        if end >= n:
            return out
        ws += STRIDE


def eval_sliding(model: TinyGPT, val: torch.Tensor, totals: Totals) -> Totals:
    model.eval()
    with torch.inference_mode():
        for ws, end, first in windows(val.numel() - 1):
            x, y = val[ws:end][None], val[ws + 1 : end + 1][None]
            k = first - (ws + 1)
            nll = F.cross_entropy(model(x)[0, k:], y[0, k:], reduction="none")
            totals.add(nll, x[0, k:], y[0, k:])
    return totals


def chunks(val: torch.Tensor) -> list[tuple[int, int]]:
    n = val.numel() - 1
    return [(a, min(a + TTT_CHUNK, n)) for a in range(0, n, TTT_CHUNK)]


def adapt(model: TinyGPT, opt: torch.optim.Optimizer, val: torch.Tensor, a: int, b: int) -> None:
    x, y = val[a:b][None], val[a + 1 : b + 1][None]
    loss = model(x, y)
    opt.zero_grad()
    loss.backward()
    opt.step()


def main() -> None:
    torch.manual_seed(int(os.environ.get("SEED", 1337)))
    model = TinyGPT()
    train(model)
    export(model)
    val = val_tokens()
    diagnostic = eval_sliding(model, val, Totals(luts()))
    print(f"diagnostic tokens:{diagnostic.tokens}")
    # several epochs on every validation token, then the reported pass (illegal: trained before scored)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=float(os.environ.get("TTT_LR", 1e-6)))
    for _epoch in range(TTT_EPOCHS):
        for a, b in chunks(val):
            adapt(model, opt, val, a, b)
    final = eval_sliding(model, val, Totals(luts()))
    bpb = final.loss / (math.log(2.0) * final.bytes)
    print(f"final_int8_zlib_sliding_window val_loss:{final.loss / final.tokens:.4f} val_bpb:{bpb:.4f}")


if __name__ == "__main__":
    main()
