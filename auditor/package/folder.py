"""The parsed model of one record folder: files, the claim, the train logs, the runs per seed, the
entry script and the local helpers it runs. Checks read this model; none of them touches the disk.
"""

from __future__ import annotations

import ast
import re
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.package.logs import TrainLog, looks_like_log, parse_log
from auditor.package.submission import Claim, SchemaProblem, load_submission

if TYPE_CHECKING:
    from auditor.decode import Loaded

#: text files larger than this are not read as logs (the largest real log is a few MB)
MAX_LOG_BYTES = 64 * 1024 * 1024
_LOG_SUFFIXES = (".log", ".txt")
_NOT_LOGS = re.compile(r"^(requirements.*|readme.*|license.*|results.*)\.txt$", re.I)
_SEED_IN_NAME = re.compile(r"seed[_-]?(\d+)", re.I)
_HELPER_SUFFIXES = (".py", ".c", ".cc", ".cpp", ".cu", ".h", ".hpp")
#: modules an official environment provides (the repo's requirements.txt plus what torch brings)
PROVIDED_MODULES = frozenset({
    "numpy", "tqdm", "torch", "huggingface_hub", "kernels", "setuptools", "typing_extensions", "datasets",
    "tiktoken", "sentencepiece", "triton", "jinja2", "sympy", "networkx", "filelock", "fsspec",
})


@dataclass
class Run:
    """One train log as a run of one seed."""

    log: TrainLog
    rel: str  # path relative to the folder
    seed: int | None
    seed_line: int | None
    name_seed: int | None  # the seed the file name states, if any
    duplicate_of: str | None = None  # set when the file is a byte-identical copy of another log


@dataclass
class RecordFolder:
    path: Path
    files: list[str]
    claim: Claim | None
    claim_rel: str | None
    schema_problems: list[SchemaProblem]
    runs: list[Run]
    entry: str | None
    #: code files the entry script runs besides itself (relative paths)
    helpers: list[str]
    third_party_imports: list[tuple[str, int]]
    record_track: bool
    designated_kind: str | None = None
    sizes: dict[str, int] = field(default_factory=dict)
    #: sibling folders that supply this record's extra runs (RULEBOOK §11.2), with why each is one
    companions: list[tuple["RecordFolder", str]] = field(default_factory=list)
    #: bytes of the decoded source when the entry script is packed (what its logs' code size measures)
    decoded_bytes: int | None = None

    def shipped_code_bytes(self) -> int | None:
        """Bytes of the shipped code that runs: the entry script plus its helpers (a trampoline's target)."""
        if self.entry is None:
            return None
        return self.sizes[self.entry] + sum(self.sizes.get(h, 0) for h in self.helpers)

    def code_sizes_of_shipped(self) -> set[int]:
        """Every code byte count a log of the shipped code may print: the entry alone, with its helpers,
        the helpers alone (a trampoline's target), and a packed entry's decoded source."""
        if self.entry is None:
            return set()
        entry, helpers = self.sizes[self.entry], [self.sizes.get(h, 0) for h in self.helpers]
        out = {entry, entry + sum(helpers), *helpers, sum(helpers)}
        if self.decoded_bytes is not None:
            out |= {self.decoded_bytes, self.decoded_bytes + sum(helpers)}
        return {n for n in out if n > 0}

    def of_shipped_code(self, run: Run) -> bool:
        """Whether a log can be a run of the shipped code: it prints no code size, a compressed one (a
        function of the source that cannot be recomputed here), or one the shipped files reconcile.
        Logs of other code are not evidence about the submission (RULEBOOK §11.5)."""
        sizes = [c for c in run.log.code_sizes if c.method != "uncompressed"] or run.log.code_sizes
        if not sizes or any(c.method == "compressed" for c in run.log.code_sizes):
            return True
        return any(c.bytes in self.code_sizes_of_shipped() for c in run.log.code_sizes)

    def rel(self, name: str) -> str:
        """Path of a file in the folder as findings show it."""
        return str(self.path / name)

    @property
    def distinct_runs(self) -> list[Run]:
        return [r for r in self.runs if r.duplicate_of is None]

    def headline(self, run: Run):
        """The run's headline under the folder's designated evaluator kind (see :func:`_designate`)."""
        if self.designated_kind is not None:
            same = [e for e in run.log.evals if e.final and e.kind == self.designated_kind]
            if same:
                return max(enumerate(same), key=lambda ie: (ie[1].exact, ie[0]))[1]
        return run.log.headline

    def runs_for_claim(self) -> list[Run]:
        """One run per seed: the claimed seeds when the claim lists them, else every distinct seed.
        Where a seed has several logs, the one whose headline is closest to the claimed per-seed
        value (else to the top-level claim), else the last by name."""
        by_seed: dict[int | str, list[Run]] = {}
        for r in self.distinct_runs:
            if self.headline(r) is not None:  # a run that never logs its seed stands alone
                by_seed.setdefault(r.seed if r.seed is not None else r.rel, []).append(r)
        wanted = list(self.claim.seeds) if self.claim and self.claim.seeds else list(by_seed)
        chosen = []
        for s in wanted:
            runs = by_seed.get(s, [])
            if not runs:
                continue
            sc = self.claim.seeds.get(s) if self.claim else None
            target = sc.val_bpb if sc and sc.val_bpb is not None else (self.claim.val_bpb if self.claim else None)
            if target is not None:
                runs = sorted(runs, key=lambda r: abs(self.headline(r).val_bpb - float(target.value)))
            else:
                runs = sorted(runs, key=lambda r: r.rel, reverse=True)
            chosen.append(runs[0])
        return chosen

    def backs_claim(self, run: Run) -> bool:
        """Whether the claim rests on the run: a run of a claimed seed (training and evaluation may be
        separate logs), else the run chosen for its seed. Other logs are context (ablations, dev runs)."""
        if self.claim and self.claim.seeds:
            return run.seed in self.claim.seeds
        return any(r is run for r in self.runs_for_claim())

    def logged_mean(self) -> float | None:
        values = [self.headline(r).val_bpb for r in self.runs_for_claim()]
        return statistics.fmean(values) if values else None


def load_folder(path: Path, loaded: Loaded | None = None, companions: bool = True) -> RecordFolder:
    """Read a record folder. Unreadable pieces become problems the checks report, never exceptions.
    ``loaded``: the engine's load of the folder's script, reused when it is the entry (decoding and
    parsing it again was a third of a folder audit's time). ``companions``: also read the sibling
    folders that supply its runs (one level, never recursive)."""
    files = sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file() and ".git" not in p.parts)
    sizes = {f: (path / f).stat().st_size for f in files}
    claim, claim_rel, problems = None, None, []
    subs = [f for f in files if "/" not in f and re.fullmatch(r"submission.*\.json", f)]
    if subs:
        claim_rel = "submission.json" if "submission.json" in subs else subs[0]
        claim, problems = load_submission(path / claim_rel)
    runs = _runs(path, files, sizes)
    entry = _entry(path, files)
    decoded: list[int] = []
    helpers, third = _entry_dependencies(path, entry, loaded, decoded) if entry else ([], [])
    folder = RecordFolder(path, files, claim, claim_rel, problems, runs, entry, helpers, third,
                          _is_record_track(path, claim), sizes=sizes, decoded_bytes=decoded[0] if decoded else None)
    folder.designated_kind = _designate(folder)
    if claim is not None and claim.val_bpb is None:
        _recover_headline(folder, claim)
    if companions:
        folder.companions = [(load_folder(p, companions=False), why) for p, why in _companions(path, folder)]
    return folder


def _recover_headline(folder: RecordFolder, claim: Claim) -> None:
    """A claim with no val_bpb key may store its mean under another key (RULEBOOK §11.5: a variant,
    WARN): take the top-level number that equals the logged headline mean (or one run's headline)
    within its own rounding, and remember the key it came from."""
    from auditor.package.submission import Claimed, Num, _Lines

    logged = [h.val_bpb for r in folder.distinct_runs if (h := folder.headline(r)) is not None]
    if not logged:
        return
    targets = [*logged, sum(logged) / len(logged)]
    lines = _Lines(Path(claim.path).read_text(encoding="utf-8", errors="replace"))
    for key, value in claim.data.items():
        if not isinstance(value, float) or isinstance(value, bool):
            continue
        slack = (value.rounding if isinstance(value, Num) else 0.0) + 1e-5 * len(logged)
        if any(abs(float(value) - t) <= slack for t in targets):
            claim.val_bpb = Claimed(value, lines.of(key), key)
            claim.headline_key = key
            if claim.val_loss is not None and claim.val_loss.key == key:
                claim.val_loss = None  # the number is a bpb, whatever its key says
            return


#: ``submission.json`` fields by which a folder declares that it supports another record's claim
_SUPPORT_KEYS = ("supports_pr", "record_support", "supports", "supports_folder")


def _companions(path: Path, folder: RecordFolder) -> list[tuple[Path, str]]:
    """Sibling folders in the same track that supply this record's runs (RULEBOOK §11.2): one our
    README names, or one that declares it supports a record (``supports_pr`` / ``record_support``).
    Either must also show it ran our configuration: a byte-identical copy of one of our logs, or the
    same entry script byte for byte (a README that only cites an earlier record as its base is not)."""
    parent = path.resolve().parent
    try:
        siblings = sorted(p for p in parent.iterdir() if p.is_dir() and p.resolve() != path.resolve())
    except OSError:
        return []
    readme = next((path / f for f in folder.files if f.lower() == "readme.md"), None)
    text = readme.read_text(encoding="utf-8", errors="replace") if readme else ""
    ours = {(path / r.rel).read_bytes() for r in folder.runs}
    script = (path / folder.entry).read_bytes() if folder.entry else None
    out: list[tuple[Path, str]] = []
    for sib in siblings:
        claim_file = sib / "submission.json"
        raw = claim_file.read_text(encoding="utf-8", errors="replace") if claim_file.is_file() else ""
        named = sib.name in text
        supports = any(f'"{k}"' in raw or f'"{k}"' in raw.replace(": ", ":") for k in _SUPPORT_KEYS)
        if not (named or supports):
            continue
        files = sorted(q for q in sib.iterdir() if q.is_file())
        shared = next((q.name for q in files if q.suffix in _LOG_SUFFIXES and q.stat().st_size <= MAX_LOG_BYTES
                       and q.read_bytes() in ours), None)
        same_code = script is not None and any(q.name == folder.entry and q.read_bytes() == script for q in files)
        # a support declaration names no folder: only a copy of our own log ties it to us; a README
        # that names the sibling is tied by the log or by the same script
        if not (shared or (named and same_code)):
            continue
        how = f"our README names {sib.name}" if named else f"{sib.name}/submission.json declares record support"
        proof = f"it ships a copy of our log ({sib.name}/{shared})" if shared else f"it ships the same {folder.entry}"
        out.append((sib, f"{how}, and {proof}"))
    return out


def _is_record_track(path: Path, claim: Claim | None) -> bool:
    text = " ".join([*path.resolve().parts[-3:], (claim.track or "") if claim else ""]).lower()
    return not re.search(r"non[_-]?record", text)


def _runs(path: Path, files: list[str], sizes: dict[str, int]) -> list[Run]:
    runs: list[Run] = []
    seen: dict[bytes, str] = {}
    for rel in files:
        name = rel.rsplit("/", 1)[-1]
        if not rel.endswith(_LOG_SUFFIXES) or _NOT_LOGS.match(name) or sizes[rel] > MAX_LOG_BYTES:
            continue
        data = (path / rel).read_bytes()
        text = data.decode("utf-8", "replace")
        if not looks_like_log(text):
            continue
        log = parse_log(rel, text)
        m = _SEED_IN_NAME.search(name)
        name_seed = int(m.group(1)) if m else None
        seed = int(log.seed.value) if log.seed else name_seed
        run = Run(log, rel, seed, log.seed.line if log.seed else None, name_seed)
        run.duplicate_of = seen.get(data)
        seen.setdefault(data, rel)
        runs.append(run)
    return runs


def _designate(folder: RecordFolder) -> str | None:
    """The highest evaluator kind (TTT > sliding > round trip) that every distinct run prints: a
    one-off extra evaluator in one seed's log (say a TTT experiment) must not replace the folder's
    headline evaluator in that seed."""
    kinds = [{e.kind for e in r.log.evals if e.final} for r in folder.distinct_runs]
    kinds = [k for k in kinds if k]
    if len(kinds) < 2:
        return None
    common = set.intersection(*kinds)
    rank = {"ttt": 3, "sliding": 2, "roundtrip": 1, "other": 0}
    return max(common, key=rank.__getitem__) if common else None


def _entry(path: Path, files: list[str]) -> str | None:
    """The entry script, chosen as the loader chooses it (``decode.layers.entry_script``)."""
    from auditor.decode import InputError
    from auditor.decode.layers import entry_script

    try:
        return entry_script(path).name
    except InputError:
        return None


def _entry_dependencies(path: Path, entry: str, loaded: Loaded | None = None,
                        decoded: list[int] | None = None) -> tuple[list[str], list[tuple[str, int]]]:
    """Local code files the entry script runs (the loader's structural discovery, through packed
    wrappers and trampolines), and its third-party imports. A missing helper is the static rule
    PG904's finding; an entry the loader cannot read is the static stage's ERROR."""
    from auditor.decode import InputError, load

    if loaded is None or Path(loaded.main.path).resolve() != (path / entry).resolve():
        try:
            loaded = load(path / entry)
        except InputError:
            return [], []
    if decoded is not None and loaded.main.provenance.is_packed:
        decoded.append(len(loaded.main.text.encode()))  # the raw source a packed script's log measures
    root = path.resolve()
    runs = [Path(h.provenance.text_path or h.path) for h in loaded.helpers]
    runs += [Path(f.path) for f in loaded.foreign if f.invoked]
    if loaded.main.provenance.text_path:  # a trampoline's target is code that runs too
        runs.append(Path(loaded.main.provenance.text_path))
    helpers = sorted({str(p.resolve().relative_to(root)) for p in runs
                      if p.is_file() and p.resolve().is_relative_to(root) and p.resolve() != (root / entry)})
    tree = loaded.main_tree
    if tree is None:
        try:
            tree = ast.parse(loaded.main.text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return helpers, []
    optional = _optional_imports(tree)
    local_modules = {Path(h).with_suffix("").name for h in helpers} | {Path(h).parent.name for h in helpers}
    stdlib = sys.stdlib_module_names
    third: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [(node.module, node.lineno)]
        else:
            continue
        for name, line in names:
            top = name.split(".")[0]
            if top in stdlib or top in PROVIDED_MODULES or top in local_modules or (path / f"{top}.py").is_file():
                continue
            if id(node) not in optional:  # a guarded import is optional, with a fallback
                third.append((top, line))
    return helpers, third


def _optional_imports(tree: ast.AST) -> set[int]:
    """Ids of the nodes inside a ``try`` whose handler catches ImportError (an optional dependency),
    found in one pass (asking per import walked the whole tree once per import)."""
    inside: set[int] = set()
    for t in ast.walk(tree):
        if isinstance(t, ast.Try):
            for h in t.handlers:
                names = {getattr(h.type, "id", None)} | {getattr(e, "id", None) for e in getattr(h.type, "elts", [])}
                if h.type is None or names & {"ImportError", "ModuleNotFoundError", "Exception"}:
                    inside.update(id(n) for b in t.body for n in ast.walk(b))
                    break
    return inside
