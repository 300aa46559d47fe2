"""The CPU stand-in for Triton runs kernels written against ``triton.language`` with GPU semantics:
pointer arithmetic with masks, TMA descriptors with zero-padded edges, autotune/heuristics meta
parameters, float32 accumulation. It runs in a child process, as in the sandbox, so this process's
torch never meets a ``triton`` module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import auditor.dynamic.shims as shims

KERNELS = r'''
import torch
import triton
import triton.language as tl
from triton.tools.tensor_descriptor import TensorDescriptor


@triton.autotune(configs=[triton.Config({"BLOCK": 64}, num_warps=4), triton.Config({"BLOCK": 128})], key=["n_cols"])
@triton.heuristics({"EVEN": lambda meta: meta["n_cols"] % meta["BLOCK"] == 0})
@triton.jit
def row_nll(logits_ptr, target_ptr, out_ptr, stride_row, n_cols, BLOCK: tl.constexpr, EVEN: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    base = logits_ptr + row * stride_row
    running_max = -float("inf")
    total = 0.0
    for start in range(0, n_cols, BLOCK):
        cols = start + tl.arange(0, BLOCK)
        x = tl.load(base + cols, mask=cols < n_cols, other=-float("inf")).to(tl.float32)
        new_max = tl.maximum(running_max, tl.max(x, axis=0))
        total = total * tl.exp(running_max - new_max) + tl.sum(tl.exp(x - new_max), axis=0)
        running_max = new_max
    target = tl.load(target_ptr + row)
    picked = tl.load(base + target).to(tl.float32)
    tl.store(out_ptr + row, running_max + tl.log(total) - picked)


@triton.jit
def tile_matmul_relu_sq(a_desc, b_desc, c_desc, M, N, K, BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr):
    pid = tl.program_id(axis=0)
    tiles_n = tl.cdiv(N, BN)
    for tile in tl.range(pid, tl.cdiv(M, BM) * tiles_n, tl.num_programs(0)):
        om, on = (tile // tiles_n) * BM, (tile % tiles_n) * BN
        acc = tl.zeros((BM, BN), dtype=tl.float32)
        for k in range(0, K, BK):
            acc = tl.dot(a_desc.load([om, k]), b_desc.load([on, k]).T, acc)
        acc = tl.where(acc > 0, acc, 0.0)
        c_desc.store([om, on], (acc * acc).to(tl.bfloat16))


@triton.jit
def scatter_count(idx_ptr, counts_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    idx = tl.load(idx_ptr + offs, mask=offs < n, other=0)
    tl.atomic_add(counts_ptr + idx, tl.full((BLOCK,), 1, tl.int32), mask=offs < n)


@triton.jit
def uses_missing_op(x_ptr):
    tl.inline_asm_elementwise("mov", "=r", [tl.load(x_ptr)], dtype=tl.int32, is_pure=True, pack=1)


torch.manual_seed(0)
logits = torch.randn(6, 300)[:, :250]  # a strided view: the row stride is 300
target = torch.randint(0, 250, (6,))
out = torch.empty(6)
row_nll[(6,)](logits, target, out, logits.stride(0), 250)
ref = torch.nn.functional.cross_entropy(logits, target, reduction="none")
print("nll", float((out - ref).abs().max()) < 1e-5)

a, b = torch.randn(70, 40, dtype=torch.bfloat16), torch.randn(50, 40, dtype=torch.bfloat16)
c = torch.full((70, 50), -1.0, dtype=torch.bfloat16)
descs = [TensorDescriptor.from_tensor(t, shape) for t, shape in ((a, [32, 16]), (b, [32, 16]), (c, [32, 32]))]
tile_matmul_relu_sq[lambda meta: (3,)](*descs, 70, 50, 40, BM=32, BN=32, BK=16, num_warps=8, num_stages=3)
want = torch.relu(a.float() @ b.float().T).square()
print("tma", float(((c.float() - want).abs() / (want.abs() + 1)).max()) < 0.02)

idx = torch.tensor([3, 1, 3, 3, 0, 1, 3])
counts = torch.zeros(5, dtype=torch.int32)
scatter_count[(triton.cdiv(7, 4),)](idx, counts, 7, BLOCK=4)
print("atomic", counts.tolist())

with torch.inference_mode():
    frozen = torch.zeros(5, dtype=torch.int32)
scatter_count[(2,)](idx, frozen, 7, BLOCK=4)
print("inference", frozen.tolist())

try:
    uses_missing_op[(1,)](torch.zeros(1, dtype=torch.int32))
except triton.KernelUnavailable as exc:
    print("missing", exc)
'''


def test_kernels_run_on_cpu_with_gpu_semantics(tmp_path: Path) -> None:
    script = tmp_path / "kernels.py"
    script.write_text(KERNELS)
    env = {"PYTHONPATH": str(Path(shims.__file__).parent), "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        "nll True",
        "tma True",
        "atomic [1, 2, 0, 4, 0]",
        "inference [1, 2, 0, 4, 0]",
        "missing pgolf-shim: custom Triton kernel 'uses_missing_op': tl.inline_asm_elementwise is not available "
        "in the CPU stand-in",
    ]
