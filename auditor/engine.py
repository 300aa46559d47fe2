"""Audit one input: load → decode → parse → static rules → package checks → dynamic probes → waivers.

An input is a Python file (static stage only, unless ``dynamic`` is asked for) or a record folder (a
directory holding ``train_gpt.py``: static, package and, by default, dynamic stages). Whatever goes
wrong with one input ends as that input's ERROR verdict with a one-line reason, never as an exception:
bad input (``InputError``, ``ParseFailure``) and a bug outside any one check alike, so a batch always
finishes. A bug inside one static rule or package check is not the input's ERROR: it becomes a PG950
finding (REVIEW) naming the check and the exception, and every other finding stands.
"""

from __future__ import annotations

import ast
import importlib.util
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from auditor import levels, registry
from auditor.analysis import Analysis, ParseFailure
from auditor.analysis.program import helper_context
from auditor.config import Config
from auditor.decode import InputError, Loaded, layers, load
from auditor.decode.helpers import FOREIGN_SUFFIXES
from auditor.dynamic.runner import DynamicOptions, not_run, run_dynamic
from auditor.findings import Finding, InputResult, Source, sha256_bytes
from auditor.package.runconfig import RunConfiguration, run_configuration
from auditor.package.verify import FolderError, verify_folder
from auditor.rulings import SubmissionDate, parse_when
from auditor.source import SourceFile
from rules.meta.pg950_check_crashed import CheckCrashed

#: lines of source shown either side of a finding's line in the terminal report
EXCERPT_CONTEXT = 2
#: longest excerpt line kept (minified payloads can have megabyte-long lines)
EXCERPT_WIDTH = 160
MAIN_SCRIPT = "train_gpt.py"


@dataclass
class AuditOptions:
    """What to run on each input. Empty ``select``/``ignore`` fall back to the config's."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    #: ``None``: on for record folders, off for single files
    dynamic: bool | None = None
    config: Config | None = None
    #: how the dynamic stage runs (time limit, forks, sweep, cache)
    dynamic_options: DynamicOptions = field(default_factory=DynamicOptions)
    #: judge record folders by the rules in force on this date instead of the submission's own
    as_of: str | None = None
    #: the PR's creation time when the caller knows it (pr mode, --git-ref): it dates the submission
    pr_created: str | None = None

    @property
    def effective_select(self) -> tuple[str, ...]:
        return self.select or (self.config.select if self.config else ())

    @property
    def effective_ignore(self) -> tuple[str, ...]:
        return (*(self.config.ignore if self.config else ()), *self.ignore)

    def selected(self, code: str) -> bool:
        return registry.code_selected(code, self.effective_select, self.effective_ignore)


class CannotAudit(Exception):
    """This input cannot be audited here (not a record folder, a stage not installed); says why."""


def is_record_folder(path: Path) -> bool:
    """Whatever its main script is called (``decode.layers.is_record_folder``)."""
    return layers.is_record_folder(path)


def audit(path: Path, options: AuditOptions | None = None) -> InputResult:
    """Audit one file or record folder; never raises for a problem with the input or a rule."""
    options = options or AuditOptions()
    path = Path(path)
    started = time.perf_counter()
    result = InputResult(path=str(path), sha256=_sha256(path))
    try:
        if path.is_dir():
            if not is_record_folder(path):
                raise CannotAudit(f"{path}: a folder to audit must contain {MAIN_SCRIPT}")
            _audit_folder(path, options, result)
        else:
            # a file inside a record folder runs under that folder's run configuration (RULEBOOK §8.3)
            folder = path.parent
            in_record = is_record_folder(folder) or (folder / "submission.json").is_file()
            run_config = run_configuration(folder) if in_record else None
            if path.suffix in FOREIGN_SUFFIXES and is_record_folder(folder):
                # a C/C++ source is judged as what it is: a helper of its folder's entry script
                _audit_file(folder / MAIN_SCRIPT, options, result, dynamic=False, run_config=run_config)
                result.findings = [f for f in result.findings if Path(f.path).resolve() == path.resolve()]
                result.extra["helper_of"] = str(folder / MAIN_SCRIPT)
            else:
                _audit_file(path, options, result, dynamic=bool(options.dynamic), run_config=run_config)
    except RecursionError:
        result.error = f"{path}: input nests too deeply to analyse"
    except MemoryError:
        result.error = f"{path}: input too large to analyse in memory"
    except Exception as exc:  # noqa: BLE001 - whatever happens, it is this input's ERROR, not a crashed batch
        known = _input_problem(exc)
        result.error = str(exc) if known else f"internal error: {type(exc).__name__}: {exc}"
    # a crashed check (PG950) survives --select: a partial audit must not pass for a complete one
    result.findings = [f for f in result.findings if options.selected(f.code)
                       or f.code == CheckCrashed.code and not _ignored(f.code, options)]
    _apply_waivers(result.findings, options.config)
    result.seconds = time.perf_counter() - started
    return result


def _ignored(code: str, options: AuditOptions) -> bool:
    return not registry.code_selected(code, (), options.effective_ignore)


def _input_problem(exc: Exception) -> bool:
    """Bad input or an unavailable stage (message for the user) rather than a tool bug."""
    return isinstance(exc, (ParseFailure, CannotAudit, InputError))


def _sha256(path: Path) -> str | None:
    try:
        target = layers.entry_script(path) if path.is_dir() else path
        return sha256_bytes(target.read_bytes())
    except (OSError, InputError):
        return None


def _audit_file(
    path: Path, options: AuditOptions, result: InputResult, dynamic: bool, run_config: RunConfiguration | None = None
) -> Loaded:
    loaded = load(path)
    sources = [loaded.main, *loaded.helpers]
    findings = static_findings(sources, options, run_config.values if run_config else None,
                               trees={id(loaded.main): loaded.main_tree})
    if run_config is not None and run_config.values:
        result.extra["run_configuration"] = {k: {"value": v, "from": run_config.origin[k]}
                                             for k, v in sorted(run_config.values.items())}
    if run_config is not None and run_config.logs:
        result.extra["run_configuration_logs"] = run_config.logs
    if loaded.main.provenance.is_packed:
        result.extra["decoded"] = {
            "chain": list(loaded.main.provenance.chain),
            "sha256": sha256_bytes(loaded.main.text.encode()),
        }
    if loaded.helpers:
        result.extra["helpers"] = [h.path for h in loaded.helpers]
    if loaded.opaque:  # what the decoder could not read; rules report it, the list shows all of it
        result.extra["opaque"] = [{"path": o.path, "line": o.line, "reason": o.reason} for o in loaded.opaque]
    if dynamic:
        findings += _dynamic_findings(loaded, findings, options, run_config)
    result.findings.extend(findings)
    attach_excerpts(result.findings, sources)
    return loaded


def _audit_folder(folder: Path, options: AuditOptions, result: InputResult) -> None:
    dynamic = True if options.dynamic is None else options.dynamic
    # gated paths are judged under the configuration of the run that produced the score (RULEBOOK §8.3)
    run_config = run_configuration(folder)
    loaded = _audit_file(layers.entry_script(folder), options, result, dynamic=dynamic, run_config=run_config)
    try:
        package_findings, extra = verify_folder(
            folder, select=options.effective_select, ignore=options.effective_ignore, loaded=loaded,
            as_of=options.as_of, pr_created=options.pr_created
        )
    except FolderError as exc:
        raise CannotAudit(str(exc)) from exc
    result.findings.extend(package_findings)
    result.extra.update(extra)
    # static rules whose level changed by date are judged by the rules of the submission's date
    dated = extra.get("submission_date")
    levels.apply_versions(result.findings, SubmissionDate(parse_when(dated["date"]), dated["source"]) if dated else None)
    attach_excerpts(package_findings, [loaded.main, *loaded.helpers])


def _dynamic_findings(
    loaded: Loaded, static: list[Finding], options: AuditOptions, run_config: RunConfiguration | None
) -> list[Finding]:
    """The dynamic stage's findings; without torch (the sandboxed run needs it) one finding says the
    stage did not run and how to install it, and the static and package verdicts stand alone."""
    if importlib.util.find_spec("torch") is None:
        return [not_run(loaded, "torch is not installed here; install the CPU build with `pip install torch==2.13.0 "
                                "--index-url https://download.pytorch.org/whl/cpu` (or pass --no-dynamic)")]
    return run_dynamic(loaded, static, options.dynamic_options, run_config.values if run_config else None)


def static_findings(
    sources: Iterable[SourceFile],
    options: AuditOptions,
    overrides: Mapping[str, str] | None = None,
    trees: Mapping[int, ast.Module | None] | None = None,
) -> list[Finding]:
    """Every selected static rule on every source (main script first, then helpers), with env
    settings taken from the run's configuration where it is known; ``trees`` holds parses the loader
    already made, keyed by ``id(source)``."""
    rules = [r() for r in registry.select(options.effective_select, options.effective_ignore)]
    findings: list[Finding] = []
    main: Analysis | None = None
    for source in sources:
        # a helper is analysed in the light of how the main script (analysed first) calls it
        context = helper_context(main, source.path) if main is not None and source.role == "helper" else None
        try:
            analysis = Analysis(source, tree=(trees or {}).get(id(source)), overrides=overrides, context=context)
        except ParseFailure as exc:
            raise ParseFailure(f"{source.path}: {exc}") from exc
        if source.role == "main":
            main = analysis
        for rule in rules:
            try:
                # what the rule reported before it failed stands: each finding is complete on its own
                findings.extend(f for f in rule.check(analysis) if f is not None)
            except MemoryError:
                raise  # the input is too big for any check: the input's ERROR
            except Exception as exc:  # noqa: BLE001 - a bug in one rule must not hide the others (PG950)
                findings.append(CheckCrashed.finding(rule.code, rule.name, exc, source.path, Source.STATIC))
    return findings


def attach_excerpts(findings: Iterable[Finding], sources: Iterable[SourceFile]) -> None:
    """Store the source lines around each finding in ``data["excerpt"]`` for the terminal report.

    Done here, where the decoded text is at hand, because reporters may run in another process.
    """
    texts = {s.path: s.lines for s in sources}
    for finding in findings:
        lines = texts.get(finding.path)
        if lines is None or not 1 <= finding.line <= len(lines) or "excerpt" in finding.data:
            continue
        end = finding.end_line or finding.line
        lo = max(1, finding.line - EXCERPT_CONTEXT)
        hi = min(len(lines), max(end, finding.line) + EXCERPT_CONTEXT, finding.line + 2 * EXCERPT_CONTEXT + 4)
        finding.data["excerpt"] = {
            "start": lo,
            "lines": [_clip(lines[i - 1]) for i in range(lo, hi + 1)],
        }


def _clip(line: str) -> str:
    return line if len(line) <= EXCERPT_WIDTH else line[: EXCERPT_WIDTH - 1] + "…"


def _apply_waivers(findings: list[Finding], config: Config | None) -> None:
    if config is None or not config.waivers:
        return
    for finding in findings:
        waiver = config.waiver_for(finding)
        # the level policy keeps a waived finding's level; it no longer counts in the verdict
        if waiver is not None and not levels.decide(finding.level, waived=True).counted:
            finding.waived = {"reason": waiver.reason, "ruling": waiver.ruling}
