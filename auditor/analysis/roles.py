"""Role tables: what a library call *does*, for the event facts in :mod:`auditor.analysis.events`.

Roles are keyed on resolved qualified names of library calls (``torch.save``, ``zlib.compress``) and on
method names of library objects (``.backward()``, ``.register_forward_hook``), never on the names a
submission gives its own functions or variables (RULEBOOK §9). The only string *contents* consulted
are data-file globs: which shard family (``fineweb_val_*`` / ``fineweb_train_*``) a pattern selects is
the data's identity, not a naming convention.
"""

from __future__ import annotations

import ast
import fnmatch
import functools
import posixpath
import re

#: probe file names of the official export: a glob that matches one of these reads that split
VAL_PROBE = "fineweb_val_000000.bin"
TRAIN_PROBE = "fineweb_train_000000.bin"

#: in-place tensor methods that update a parameter by hand (``p.add_(g, alpha=-lr)``)
INPLACE_UPDATES = frozenset({"add_", "sub_", "copy_", "mul_", "addcmul_", "addcdiv_", "lerp_"})

#: library calls that serialize or compress the artifact
EXPORT_CALLS = frozenset({
    "torch.save", "pickle.dump", "pickle.dumps", "zlib.compress", "lzma.compress", "bz2.compress",
    "gzip.compress", "brotli.compress", "zstd.compress", "zstandard.compress", "numpy.save", "np.save",
    "numpy.savez", "numpy.savez_compressed",
})
#: method names of compressor objects (``zstandard.ZstdCompressor(...).compress``)
EXPORT_METHODS = frozenset({"compress"})

#: optimizer constructors (``torch.optim.AdamW``); schedulers are not optimizers
OPTIM_PREFIX = "torch.optim."
SCHED_PREFIX = "torch.optim.lr_scheduler."

#: tensor creators that can make a fresh leaf with ``requires_grad=True``
CREATORS = frozenset({"zeros", "ones", "empty", "full", "randn", "rand", "zeros_like", "ones_like",
                      "full_like", "empty_like", "tensor"})

#: context managers that disable autograd
NO_GRAD = frozenset({"torch.no_grad", "torch.inference_mode"})

#: Python/NumPy/torch calls that select the smaller or larger of alternatives
SELECT_CALLS = frozenset({"min", "max", "torch.minimum", "torch.maximum", "torch.min", "torch.max",
                          "numpy.minimum", "numpy.maximum", "numpy.fmin", "numpy.fmax", "numpy.min",
                          "numpy.max", "torch.fmin", "torch.fmax"})

_GLOB = re.compile(r"[*?\[]")


@functools.lru_cache(maxsize=1 << 16)  # asked of every string constant a split taint visits, many times over
def shard_split(text: str) -> tuple[bool, bool]:
    """Which splits a string constant selects: (val, train).

    A glob is matched against the official shard names; a literal path by its file-name shape. Strings
    that are not data paths (log messages, format strings) select nothing.
    """
    if len(text) > 300 or "\n" in text or " " in text.strip():
        return False, False
    base = posixpath.basename(text.replace("\\", "/"))
    if not base:
        return False, False
    if _GLOB.search(base) and base.endswith(".bin"):
        return fnmatch.fnmatch(VAL_PROBE, base), fnmatch.fnmatch(TRAIN_PROBE, base)
    if base.endswith(".bin") or (base.endswith("_") and "fineweb" in base):
        # literal shard names or prefixes joined with an index: ``fineweb_val_000003.bin``, ``fineweb_val_``
        return "_val_" in f"_{base}" and "train" not in base, "_train_" in f"_{base}" and "val" not in base
    return False, False


def is_no_grad(expr: ast.AST, qualname) -> bool:
    """``torch.no_grad()`` / ``torch.inference_mode()`` (called or not) as a ``with`` item or decorator."""
    if isinstance(expr, ast.Call):
        expr = expr.func
    return qualname(expr) in NO_GRAD


def fresh_leaf(value: ast.AST, constants: dict[str, object]) -> bool:
    """A new tensor that autograd will optimize: ``torch.zeros(..., requires_grad=True)``,
    ``t.requires_grad_()``, ``nn.Parameter(...)`` built in place. ``constants`` maps module-level
    names to literal values (minified scripts write ``requires_grad=_B`` with ``_B = True``)."""
    if not isinstance(value, ast.Call):
        return False
    func = value.func
    if isinstance(func, ast.Attribute) and func.attr == "requires_grad_":
        arg = value.args[0] if value.args else None
        return not (isinstance(arg, ast.Constant) and arg.value is False)
    for kw in value.keywords:
        flag = kw.value.value if isinstance(kw.value, ast.Constant) else constants.get(getattr(kw.value, "id", ""))
        if kw.arg == "requires_grad" and flag is True:
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            return name in CREATORS
    if isinstance(func, (ast.Attribute, ast.Name)):
        name = func.attr if isinstance(func, ast.Attribute) else func.id
        if name == "Parameter" and value.args and isinstance(value.args[0], ast.Call):
            inner = value.args[0].func
            inner_name = inner.attr if isinstance(inner, ast.Attribute) else getattr(inner, "id", "")
            return inner_name in CREATORS
    return False
