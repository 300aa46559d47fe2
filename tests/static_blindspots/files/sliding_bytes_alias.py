"""Fixture written for pgolf-audit tests: a sliding-window byte count through a second name for the label slice (legal)."""
import math
import numpy as np
import torch
import torch.nn.functional as F

def build_luts(sp, vocab_size):
    base = np.zeros(vocab_size, dtype=np.int16)
    lead = np.zeros(vocab_size, dtype=np.bool_)
    boundary = np.ones(vocab_size, dtype=np.bool_)
    for i in range(sp.vocab_size()):
        if sp.is_control(i) or sp.is_unknown(i) or sp.is_unused(i):
            continue
        boundary[i] = False
        if sp.is_byte(i):
            base[i] = 1
            continue
        piece = sp.id_to_piece(i)
        if piece.startswith("\u2581"):
            lead[i] = True
            piece = piece[1:]
        base[i] = len(piece.encode("utf-8"))
    return torch.from_numpy(base), torch.from_numpy(lead), torch.from_numpy(boundary)

def main(sp, model, val_tokens, seq_len):
    base, lead, boundary = build_luts(sp, 1024)
    return evaluate(model, val_tokens, seq_len, base, lead, boundary)

def evaluate(model, val_tokens, seq_len, base, lead, boundary, stride=64):
    loss_sum, byte_sum = 0.0, 0.0
    for ws in range(0, val_tokens.numel() - seq_len, stride):
        chunk = val_tokens[ws:ws + seq_len + 1][None]
        x_batch = chunk[:, :-1]
        y_batch = chunk[:, 1:]
        s = 0 if ws == 0 else seq_len - stride
        logits = model(chunk[:, :-1])[:, s:]
        targets = y_batch[:, s:].reshape(-1)
        nll = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets, reduction="sum")
        loss_sum += float(nll)
        tgt = y_batch[:, s:].reshape(-1)
        prev = x_batch[:, s:].reshape(-1)
        tb = base[tgt].double() + (lead[tgt] & ~boundary[prev]).double()
        byte_sum += float(tb.sum())
    return loss_sum / math.log(2.0) / byte_sum
