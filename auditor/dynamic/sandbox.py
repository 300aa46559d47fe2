"""Run submission code in a contained child process and collect its event tape.

Layers, outermost first:
- a fresh temp tree (``work/`` = the submission's files, its data and its outputs; ``ctl/`` = our
  config, tapes and shims), removed afterwards;
- a clean environment (no inherited variables, so no secrets), ``HOME`` and ``TMPDIR`` inside ``work/``;
- ``unshare --net --pid --fork --kill-child`` when available: no network interface at all, and
  every process the script starts dies with it;
- rlimits (address space, CPU seconds, file size, core dumps) and a wall-clock watchdog that also
  kills the whole process group when it holds more than ``max_procs`` processes;
- inside the child (``shims/pgguard``): an audit hook that refuses and records network use, reads
  outside the sandbox and unbounded forking.
The auditor process itself never imports or executes submission code.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from auditor.dynamic.data import SyntheticData, install as install_data

SHIMS = Path(__file__).parent / "shims"
SCRIPT_NAME = "train_gpt.py"
_DATASET_NAME = re.compile(r"fineweb10B_[A-Za-z0-9_]+")
_SIDECAR = re.compile(r"fineweb_val_bytes|val_bytes_|[\"']_bytes_[\"']")  # the script reads a byte sidecar
_TOKENIZER_NAME = re.compile(r"[A-Za-z0-9_.-]+\.model\b")


@dataclass(frozen=True)
class Limits:
    wall_s: float = 90.0
    mem_bytes: int = 6 * 1024**3  # address space per process; torch reserves far more than it touches
    rss_bytes: int = 4 * 1024**3  # resident memory of the whole process group (the audit's 4 GB budget)
    cpu_s: int = 240
    file_bytes: int = 1024**3
    max_procs: int = 32
    threads: int = 1


@dataclass
class RunResult:
    tag: str
    rc: int | None
    seconds: float
    peak_rss: int
    killed: str | None  # why the watchdog killed the run, if it did
    stdout: str
    stderr: str
    tape: list[dict] = field(default_factory=list)
    written: dict[str, int] = field(default_factory=dict)  # work-relative path -> bytes at the end

    def events(self, *kinds: str) -> list[dict]:
        return [e for e in self.tape if e["kind"] in kinds]

    @property
    def exception(self) -> dict | None:
        return next((e for e in self.tape if e["kind"] == "EXC"), None)


#: the most a busy machine stretches the wall-clock limit (the batch's per-input limit stays the bound)
MAX_LOAD_STRETCH = 3.0


def load_factor() -> float:
    """How much slower than an idle machine a run is now: the 1-minute load per core, from 1 to 3. A
    wall-clock limit sized for a quiet machine would otherwise stop sound runs on a busy one."""
    try:
        per_core = os.getloadavg()[0] / (os.cpu_count() or 1)
    except OSError:
        return 1.0
    return min(MAX_LOAD_STRETCH, max(1.0, per_core))


@cache
def network_isolation() -> list[str]:
    """The ``unshare`` prefix when this machine allows it (root or user namespaces), else []."""
    prefix = ["unshare", "--net", "--pid", "--fork", "--kill-child"]
    for cmd in (prefix, ["unshare", "--user", "--map-root-user", "--net", "--pid", "--fork", "--kill-child"]):
        try:
            if subprocess.run([*cmd, "true"], capture_output=True, timeout=10).returncode == 0:
                return cmd
        except (OSError, subprocess.TimeoutExpired):
            continue
    return []


def _limits(limits: Limits):
    def apply() -> None:
        os.setsid()
        resource.setrlimit(resource.RLIMIT_AS, (limits.mem_bytes, limits.mem_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 5))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.max_procs, limits.max_procs))

    return apply


def _group_stats(pgid: int) -> tuple[int, int]:
    """(process count, summed RSS bytes) of a process group, from /proc."""
    count = rss = 0
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            count += 1
            rss += int(fields[21]) * page
    return count, rss


class Sandbox:
    """One temp tree for one submission; ``run`` may be called several times (base run, fork run)."""

    def __init__(self, files: dict[str, bytes], data: SyntheticData, env: dict[str, str], limits: Limits = Limits(),
                 code_files: tuple[str, ...] = (SCRIPT_NAME,)) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="pgolf-sandbox-"))
        self.work, self.ctl = self.root / "work", self.root / "ctl"
        self.work.mkdir()
        self.ctl.mkdir()
        self.limits = limits
        self.data = data
        self.notes: list[str] = []
        text = files.get(SCRIPT_NAME, b"").decode("utf-8", "replace")
        for rel, blob in files.items():
            path = self.work / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if rel.endswith(".model") and rel != SCRIPT_NAME:
                shutil.copyfile(data.tokenizer, path)  # the probe data needs the probe tokenizer
                self.notes.append(f"shipped tokenizer {rel} replaced by the probe tokenizer")
            else:
                path.write_bytes(blob)
        self._layout_data(text)
        shutil.copytree(SHIMS, self.ctl / "shims", ignore=shutil.ignore_patterns("__pycache__"))
        (self.ctl / "shims" / "__init__.py").unlink()  # a plain folder on sys.path, not a package
        (self.work / "tmp").mkdir(exist_ok=True)
        self.code_files = tuple(str(self.work / c) for c in code_files)
        self.env = self._env(env)
        # every run starts from this tree: a second run must not find the first one's artifact or logs
        self.pristine = self.root / "pristine"
        shutil.copytree(self.work, self.pristine, symlinks=True)
        self.runs = 0

    def _layout_data(self, text: str) -> None:
        probe = self.work / "data" / "datasets" / "probe"
        install_data(self.data, probe, sidecar=bool(_SIDECAR.search(text)))
        v = self.data.vocab_size
        names = {"fineweb10B_sp1024", "fineweb10B_sp4096", "fineweb10B_sp8192", f"fineweb10B_sp{v}", *_DATASET_NAME.findall(text)}
        for name in sorted(names):
            link = probe.parent / name
            if not link.exists():
                link.symlink_to("probe")
        tok_dir = self.work / "data" / "tokenizers"
        tok_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.data.tokenizer, tok_dir / "probe.model")
        toks = {"fineweb_1024_bpe.model", "fineweb_4096_bpe.model", "fineweb_8192_bpe.model", f"fineweb_{v}_bpe.model",
                *(Path(n).name for n in _TOKENIZER_NAME.findall(text))}
        for name in sorted(toks):
            if not (tok_dir / name).exists():
                (tok_dir / name).symlink_to("probe.model")
        self.data_dir = probe
        self.tokenizer = tok_dir / "probe.model"

    def _env(self, overrides: dict[str, str]) -> dict[str, str]:
        env = {
            "PATH": f"{self.ctl / 'shims' / 'bin'}:{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.work),
            "TMPDIR": str(self.work / "tmp"),
            "LANG": "C.UTF-8",
            "PYTHONPATH": str(self.ctl / "shims"),
            "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
            "OMP_NUM_THREADS": str(self.limits.threads),
            "MKL_NUM_THREADS": str(self.limits.threads),
            "TORCHINDUCTOR_CACHE_DIR": str(self.work / "tmp" / "inductor"),
            "DATA_PATH": str(self.data_dir),
            "DATA_DIR": str(self.work / "data"),
            "TOKENIZER_PATH": str(self.tokenizer),
            "RUN_ID": f"pgolf_probe_{self.root.name}",  # unique: scripts name /tmp files after it
        }
        env.update(overrides)
        return env

    def _config(self, tag: str, fork: dict | None) -> Path:
        py_roots = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
        allowed = sorted({*py_roots, sys.prefix, sys.base_prefix, str(Path(sys.executable).resolve().parent.parent),
                          "/usr", "/lib", "/lib64", "/etc", "/proc", "/sys", "/dev", "/bin", "/sbin", "/opt",
                          str(self.ctl)})
        config = {
            "script": str(self.work / SCRIPT_NAME),
            "code_files": list(self.code_files),
            "tape_out": str(self.ctl / f"tape-{tag}.jsonl"),
            "val_stream": str(self.data.val_stream_path),
            "allowed_read_roots": [*allowed, str(self.data.root)],
            "denied_roots": [str(Path.home()), "/root", "/home", "/work", "/tmp", "/var"],
            "writable_roots": [str(self.work)],
            "scratch_roots": ["/tmp"],
            "threads": self.limits.threads,
            "max_forks": 4,
            "fork": fork,
        }
        path = self.ctl / f"config-{tag}.json"
        path.write_text(json.dumps(config))
        return path

    def adopt(self) -> None:
        """Make the work tree as the last run left it the starting state of every later run (a first
        stage's artifact, which the scored configuration loads instead of training)."""
        shutil.rmtree(self.pristine)
        shutil.copytree(self.work, self.pristine, symlinks=True)

    def run(self, tag: str = "base", fork: dict | None = None, wall_s: float | None = None,
            overrides: dict[str, str] | None = None) -> RunResult:
        """Run the script once, in the work tree as it was before any run, under a run id of its own;
        ``overrides`` replaces the sandbox's environment settings for this run."""
        if self.runs:
            shutil.rmtree(self.work)
            shutil.copytree(self.pristine, self.work, symlinks=True)
        self.runs += 1
        config = self._config(tag, fork)
        cmd = [*network_isolation(), sys.executable, "-X", "utf8", str(self.ctl / "shims" / "pgboot.py"), str(config)]
        out_path, err_path = self.ctl / f"stdout-{tag}.txt", self.ctl / f"stderr-{tag}.txt"
        wall = (wall_s or self.limits.wall_s) * load_factor()
        start = time.monotonic()
        killed = None
        peak = 0
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            env = self.env if overrides is None else self._env(overrides)
            env = {**env, "RUN_ID": f"{env['RUN_ID']}_{tag}"} if self.runs > 1 else env
            proc = subprocess.Popen(cmd, cwd=self.work, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    preexec_fn=_limits(self.limits))
            while proc.poll() is None:
                count, rss = _group_stats(proc.pid)
                peak = max(peak, rss)
                if time.monotonic() - start > wall:
                    killed = f"wall-clock limit of {wall:.0f} s"
                elif count > self.limits.max_procs:
                    killed = f"more than {self.limits.max_procs} processes"
                elif rss > self.limits.rss_bytes:
                    killed = f"more than {self.limits.rss_bytes >> 20} MiB resident"
                if killed:
                    self._kill(proc)
                    break
                time.sleep(0.05)
            rc = proc.wait()
        seconds = time.monotonic() - start
        if killed is None and rc in (-signal.SIGKILL, 128 + signal.SIGKILL, -signal.SIGXCPU, 128 + signal.SIGXCPU):
            killed = "killed by a resource limit (memory or CPU time)"
        tape = read_tape(Path(json.loads(config.read_text())["tape_out"]))
        for path in {e["path"] for e in tape if e["kind"] == "SCRATCH"}:  # files the script created in /tmp
            Path(path).unlink(missing_ok=True)
        return RunResult(tag, rc, seconds, peak, killed, _tail(out_path), _tail(err_path), tape, self._written())

    @staticmethod
    def _kill(proc: subprocess.Popen) -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def _written(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for p in self.work.rglob("*"):
            if p.is_file() and not p.is_symlink() and "data" not in p.relative_to(self.work).parts[:1]:
                out[str(p.relative_to(self.work))] = p.stat().st_size
        return out

    def fork_tape(self, variant_id: str) -> list[dict]:
        return read_tape(self.ctl / f"tape-{variant_id}.jsonl")

    def close(self) -> None:
        if not os.environ.get("PGOLF_KEEP_SANDBOX"):  # debugging aid: keep the tree for inspection
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_tape(path: Path) -> list[dict]:
    """Events of a tape file; a line the child could not finish (killed mid-write) is dropped."""
    if not path.exists():
        return []
    events = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return events


def _tail(path: Path, limit: int = 20000) -> str:
    data = path.read_bytes()
    return data[-limit:].decode("utf-8", "replace")
