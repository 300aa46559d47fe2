"""The dynamic stage: run the submission small on CPU, fork the headline pass, run every probe."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from auditor.dynamic import forks as fork_runs
from auditor.dynamic.context import Context, ForkResult
from auditor.analysis.config import EnvSetting
from auditor.dynamic.data import VAL_TOKENS, SyntheticData, build
from auditor.dynamic.loadfactor import shrink_tables
from auditor.dynamic.probes.base import Probe
from auditor.dynamic.runenv import run_environment
from auditor.dynamic.sandbox import SCRIPT_NAME, Limits, RunResult, Sandbox
from auditor.dynamic.scores import collect
from auditor.dynamic.merge import RanInHeadline, merge
from auditor.dynamic.tape import Coverage, Pass, TapeView
from auditor.dynamic.tinyconfig import derive
from auditor.dynamic.topology import gated_lines, scored_ranks
from auditor.decode import Loaded
from auditor.findings import Confidence, Finding, Level, Source
from auditor.source import SourceFile

MAX_FOLDER_FILE = 20 * 1024**2
CODE_SUFFIXES = (".py", ".c", ".cc", ".cpp", ".cu", ".h", ".hpp", ".cuh")


@dataclass
class DynamicOptions:
    wall_s: float = 90.0
    forks: bool = True  # flip test
    sweep: bool | str = True  # vocabulary sweep: True samples candidate ids, "full" forks once per id
    cache_dir: Path | None = None
    limits: Limits = field(default_factory=Limits)


def folder_files(main_path: Path) -> dict[str, bytes]:
    """The record folder's other files (the main script is written from its decoded text)."""
    folder = main_path.parent
    out: dict[str, bytes] = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if not p.is_file() or p.is_symlink() or p == main_path or rel.parts[0].startswith(".") or "__pycache__" in rel.parts:
            continue
        if p.stat().st_size <= MAX_FOLDER_FILE:
            out[str(rel)] = p.read_bytes()
    return out


def runnable_text(text: str) -> tuple[str | None, str]:
    """The text this interpreter can run, down-levelled when it uses newer syntax; or (None, reason)."""
    try:
        compile(text, SCRIPT_NAME, "exec")
        return text, ""
    except SyntaxError as exc:
        first = exc
    try:
        from auditor.decode.downlevel import downlevel
    except ImportError:
        return None, f"syntax this Python cannot run ({first.msg}, line {first.lineno}) and no down-leveller is available"
    try:
        lowered = downlevel(text)
        if lowered is None:
            raise ValueError("no rewrite applies")
        compile(lowered, SCRIPT_NAME, "exec")
        return lowered, "down-levelled to Python 3.11 syntax"
    except (SyntaxError, ValueError, RecursionError) as exc:
        return None, f"syntax this Python cannot run ({first.msg}, line {first.lineno}); down-levelling failed: {exc}"


def _configured(main: SourceFile, run_config: Mapping[str, str]) -> tuple[list[EnvSetting], dict[str, str], list[str]]:
    """The script's env settings under the scored run's configuration, and the env that reproduces it."""
    from auditor.analysis import Analysis, ParseFailure

    try:
        analysis = Analysis(main, overrides=run_config)
    except (ParseFailure, SyntaxError, RecursionError, ValueError):
        return [], {}, []
    env, notes = run_environment(analysis, run_config)
    return list(analysis.settings.values()), env, notes


def _blocked(ctx_base: RunResult, view: TapeView, headline: Pass | None) -> str | None:
    if ctx_base.killed:
        return f"the run was killed: {ctx_base.killed}"
    exc = ctx_base.exception
    if headline is not None and exc is None and ctx_base.rc in (0, None):
        return None
    if exc is not None:
        if "pgolf-shim" in exc["msg"]:
            return f"{exc['msg']} (line {exc['at_line']})"
        return f"the script failed at the tiny configuration: {exc['type']}: {exc['msg'][:200]} (line {exc['at_line']})"
    if ctx_base.rc not in (0, None):
        rc = ctx_base.rc
        how = f"was killed by {signal.Signals(-rc).name}" if rc < 0 and -rc in signal.valid_signals() else \
            f"exited with status {rc}"
        native = [e["argv"][:160] for e in view.of("SUBPROC") if "g++" in e["argv"] or "nvcc" in e["argv"]]
        return f"the script {how} before finishing" + (f" (after building native code: {native[-1]})" if native else "")
    return "the run printed no headline val_bpb line with captured scores"


_SKIPS_A_STAGE = re.compile(r"_ONLY$|^SKIP_TRAIN")
_NO_SUCH_FILE = re.compile(r"No such file or directory: '([^'/][^']*)'")


def _own_missing_file(run: RunResult, text: str) -> str | None:
    """The relative file whose absence stopped the run, when the script itself names it (it writes it
    on another path, e.g. training before a ``TTT_ONLY`` evaluation); else None."""
    exc = run.exception
    m = _NO_SUCH_FILE.search(exc["msg"]) if exc is not None and exc["type"] == "FileNotFoundError" else None
    if m is None or (f'"{m.group(1)}"' not in text and f"'{m.group(1)}'" not in text):
        return None
    return m.group(1)


def probe_classes() -> list[type[Probe]]:
    from auditor.registry import catalog

    return [c for c in catalog() if isinstance(c, type) and issubclass(c, Probe)]


def not_run(loaded: Loaded, reason: str) -> Finding:
    """The dynamic stage could not start at all (e.g. torch is missing): said once, at INFO, so the
    static and package verdicts stand as they are and no static lead is cleared or confirmed."""
    return Finding(code="PG800", rule="DYNAMIC", level=Level.INFO, source=Source.DYNAMIC, path=loaded.main.path,
                   line=1, message=f"dynamic-run NOT RUN: {reason}", confidence=Confidence.LOW, name="dynamic-run",
                   provenance=loaded.main.provenance, data={"outcome": "NOT-RUN", "probe": "dynamic-run"})


def run_dynamic(loaded: Loaded, static_findings: list[Finding], options: DynamicOptions | None = None,
                run_config: Mapping[str, str] | None = None) -> list[Finding]:
    """Run the dynamic probes on one loaded submission; adjusts ``static_findings`` in place (merge).
    ``run_config``: the scored run's settings (``auditor.package.runconfig``), reproduced in the sandbox."""
    opts = options or DynamicOptions()
    start = time.monotonic()
    main = loaded.main
    main_path = Path(main.provenance.packed_path if main.provenance else main.path)
    text, how = runnable_text(main.text)
    files = folder_files(main_path) if main_path.is_file() else {}
    helper_files = {os.path.basename(k): len(v) for k, v in files.items() if k.endswith(CODE_SUFFIXES)}
    data = build(opts.cache_dir)
    settings, run_env, run_notes = _configured(main, run_config or {})
    cfg = derive(settings, data.vocab_size)
    notes = ([how] if how else []) + run_notes + cfg.notes
    if text is None:
        ctx = _empty_context(main, data, how, notes, helper_files)
        findings = [f for p in probe_classes() for f in p().decide(ctx)]
        merge(static_findings, findings, lambda f: f"the script did not run: {how}")
        return findings
    text, shrunk = shrink_tables(text, VAL_TOKENS - 1)
    notes += shrunk
    files[SCRIPT_NAME] = text.encode("utf-8")
    with Sandbox(files, data, {**run_env, **cfg.env}, opts.limits) as sb:
        base = sb.run("base", wall_s=opts.wall_s)
        missing = _own_missing_file(base, text) if run_env else None
        if missing is not None:
            # a two-stage run: the scored command skips a stage (``TTT_EVAL_ONLY=1``) and loads what that
            # stage of the same script writes; run it first, with the scored configuration less the skip
            skips = sorted(k for k in run_env if _SKIPS_A_STAGE.search(k))
            stage1_env = {**{k: v for k, v in run_env.items() if k not in skips}, **cfg.env} if skips else cfg.env
            first = sb.run("stage1", wall_s=opts.wall_s, overrides=stage1_env)
            without = ", ".join(skips) if skips else "the run configuration"
            if first.rc == 0 and (sb.work / missing).exists():
                sb.adopt()
                notes.insert(0, f"two-stage run: the scored configuration loads {missing}, which a first run without "
                             f"{without} wrote")
                base = sb.run("base", wall_s=opts.wall_s)
            else:
                exc = first.exception
                why = f"{exc['type']}: {exc['msg'][:120]} (line {exc['at_line']})" if exc else \
                    first.killed or f"exit {first.rc}"
                notes.insert(0, f"two-stage run: the scored configuration loads {missing}; a first run without {without} "
                             f"to write it failed: {why}")
        view = TapeView(base.tape)
        reported = view.reported()
        headline = view.headline_pass()
        scores = collect(headline, reported) if headline is not None else None
        ctx = Context(path=main.path, provenance=main.provenance, data=data, base=base, view=view, reported=reported,
                      headline=headline, scores=scores, code_bytes=len(main.text.encode("utf-8")),
                      helper_files=helper_files, tiny_notes=notes + sb.notes)
        ctx.extra["run_code_bytes"] = len(text.encode("utf-8"))
        ran = {SCRIPT_NAME} | {os.path.basename(e["path"]) for e in view.of("READ") if e["path"].endswith(".py")}
        ctx.extra["sentencepiece"] = any(b"sentencepiece" in blob for name, blob in files.items() if os.path.basename(name) in ran)
        ctx.blocked = _blocked(base, view, headline)
        if ctx.blocked is None and headline is not None and reported is not None and scores is not None \
                and scores.selection is not None and (opts.forks or opts.sweep):
            plan, reason = fork_runs.plan(view, headline, scores, reported, data.vocab_size, data.val_stream, sb, opts.sweep)
            if plan is None:
                ctx.forks = ForkResult(None, reason=reason)
            else:
                if not opts.forks:
                    plan["variants"] = [v for v in plan["variants"] if not v["id"].startswith("flip")]
                ctx.forks = fork_runs.run(sb, plan, scores.selection, wall_s=opts.wall_s * 2, base=reported)
        findings = [f for p in probe_classes() for f in p().decide(ctx)]
    elapsed = time.monotonic() - start
    for f in findings:
        if f.code == "PG800":
            f.data.update({"seconds": round(elapsed, 2), "peak_rss": base.peak_rss})
    ranks = scored_ranks(dict(run_config or {}))
    cover = ctx.forks.cover if ctx.forks is not None else None
    merge(static_findings, findings, _ran_in_headline(cover, main, main_path, loaded.helpers, ranks))
    return findings


def _ran_in_headline(cover: Coverage | None, main: SourceFile, main_path: Path, helpers: list[SourceFile],
                     ranks: int) -> RanInHeadline:
    """Why a finding's line does not count as exercised at the scored configuration, or None when it
    ran in the headline pass. The main script runs as ``SCRIPT_NAME`` (its decoded text, same lines), the
    folder's other files under their paths in the folder; lines under a topology test count only when
    the scored run had one rank, as the sandbox does."""
    folder = main_path.parent
    texts = {main.path: main.text, **{h.path: h.text for h in helpers}}
    gated: dict[str, frozenset[int]] = {}

    def why_not(f: Finding) -> str | None:
        if cover is None:
            return "no line record of the headline pass (it is taken in the fork re-run, which did not run or finish)"
        if f.path == main.path:
            name = SCRIPT_NAME
        else:
            try:
                name = Path(f.path).resolve().relative_to(folder.resolve()).as_posix()
            except ValueError:
                return f"{f.path} is not a file of the record folder the sandbox ran"
        if not cover.ran_in_headline(name, f.line):
            return f"line {f.line} did not run in the headline pass at the scored configuration"
        if ranks > 1 and f.path in texts:
            if f.path not in gated:
                gated[f.path] = gated_lines(texts[f.path])
            if f.line in gated[f.path]:
                return (f"line {f.line} is under a test of the world size or rank, and the scored run had {ranks} "
                        "ranks where the sandbox has one")
        return None

    return why_not


def _empty_context(main: SourceFile, data: SyntheticData, reason: str, notes: list[str],
                   helper_files: dict[str, int]) -> Context:
    base = RunResult("base", None, 0.0, 0, None, "", "", [], {})
    ctx = Context(path=main.path, provenance=main.provenance, data=data, base=base, view=TapeView([]), reported=None,
                  headline=None, scores=None, code_bytes=len(main.text.encode("utf-8")), helper_files=helper_files,
                  tiny_notes=notes)
    ctx.blocked = reason
    return ctx
