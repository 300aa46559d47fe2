"""The ``pgolf-audit`` command.

    pgolf-audit PATH...                  audit files and record folders (same as ``check``)
    pgolf-audit check PATH... [options]
    pgolf-audit rules                    list every check
    pgolf-audit rules explain PG101      one check's documentation page and examples
    pgolf-audit docs --out docs/rules    write the per-check pages (generated, committed)

Exit codes (ruff/bandit convention): 0 every input PASS; 1 some input FAIL or REVIEW (REVIEW exits 0
with ``--fail-on fail``); 2 the tool could not run (bad usage, bad config, an input it cannot audit).
Problems are reported as one line on stderr, never as a traceback. Nothing the user gave is modified:
reports go to stdout or to ``--output``, which refuses to overwrite an input.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence

from pathlib import Path

from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table

from auditor import RULESET_DATE, __version__
from auditor.batch import DEFAULT_TIMEOUT, UsageError, discover, run_batch
from auditor.config import Config, ConfigError, discover as discover_config, load_file
from auditor.engine import AuditOptions
from auditor.findings import InputResult
from auditor.package import commands as package_commands
from auditor.package.discovery import pr_inputs
from auditor.report import FORMATS, ReportContext, render
from auditor.report.json_report import exit_code

CODE_PREFIX = re.compile(r"^PG[0-9]{0,3}$")


def _codes(text: str) -> list[str]:
    codes = [c.strip().upper() for c in text.split(",") if c.strip()]
    bad = [c for c in codes if not CODE_PREFIX.match(c)]
    if bad:
        raise argparse.ArgumentTypeError(f"not a check code or prefix: {bad[0]!r} (expected e.g. PG101 or PG1)")
    return codes


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def _date(text: str) -> str:
    from auditor.rulings import RulingsError, check_as_of

    try:
        return check_as_of(text)
    except RulingsError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def build_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction[argparse.ArgumentParser]]:
    parser = argparse.ArgumentParser(
        prog="pgolf-audit",
        description="Compliance auditor and submission verifier for OpenAI's Parameter Golf challenge.",
        epilog="Run `pgolf-audit PATH...` to audit; exit codes: 0 PASS, 1 FAIL or REVIEW, 2 could not run.",
    )
    parser.add_argument("--version", action="version", version=f"pgolf-audit {__version__} (rules as of {RULESET_DATE})")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = sub.add_parser("check", help="audit submission files and record folders (the default command)")
    check.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="train_gpt.py files, record folders, or folders of them (with --git-ref and no PATH: the record folders that ref adds)")
    check.add_argument("--format", choices=FORMATS, default="text", help="report format (default: text)")
    check.add_argument("-o", "--output", type=Path, metavar="FILE", help="write the report to FILE instead of stdout")
    check.add_argument("--select", type=_codes, action="extend", default=[], metavar="CODES", help="only these codes or prefixes, comma-separated (e.g. PG1,PG401)")
    check.add_argument("--ignore", type=_codes, action="extend", default=[], metavar="CODES", help="skip these codes or prefixes")
    check.add_argument("--config", type=Path, metavar="FILE", help="pgolf-audit.toml or pyproject.toml (default: nearest one upward from the working directory)")
    check.add_argument("--git-ref", metavar="REF", help="audit PATHs as they are at this commit/branch/PR head of --repo; with no PATH, the record folders it adds under records/ (e.g. refs/pull/1234/head)")
    check.add_argument("--repo", type=Path, metavar="DIR", help="the git checkout for --git-ref, and the root SARIF/annotation paths are relative to (default: .)")
    check.add_argument("-j", "--jobs", type=_positive_int, default=os.cpu_count() or 1, metavar="N", help="parallel worker processes (default: CPU count)")
    check.add_argument("--dynamic", action=argparse.BooleanOptionalAction, default=None, help="run the dynamic probes (default: on for record folders, off for files)")
    check.add_argument("--fail-on", choices=("review", "fail"), default=None, help="lowest verdict that exits 1 (default: review, or the config's)")
    check.add_argument("--progress", action="store_true", help="show a progress bar on stderr even when it is not a terminal")
    check.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS", help=f"per-input time limit (default: {DEFAULT_TIMEOUT:g})")
    check.add_argument("--as-of", type=_date, metavar="DATE", help="judge by the rules in force on DATE (YYYY-MM-DD or ISO time) instead of the submission's own date")

    rules = sub.add_parser("rules", help="list every check, or explain one")
    rules.add_argument("--format", choices=("text", "json"), default="text")
    rules_sub = rules.add_subparsers(dest="rules_command", metavar="SUBCOMMAND")
    explain = rules_sub.add_parser("explain", help="show one check's documentation page")
    explain.add_argument("code", metavar="CODE")

    docs = sub.add_parser("docs", help="write the per-check documentation pages")
    docs.add_argument("--out", type=Path, default=Path("docs/rules"), metavar="DIR")
    docs.add_argument("--check", action="store_true", help="write nothing; exit 1 if the pages in DIR are stale")

    package_commands.register(sub)
    return parser, sub


def _with_default_command(argv: list[str], commands: Sequence[str]) -> list[str]:
    if not argv or argv[0] in commands or argv[0] in ("-h", "--help", "--version"):
        return argv
    return ["check", *argv]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code. Never lets a traceback reach the user."""
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except (UsageError, ConfigError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return _fail("interrupted", code=130)
    except BrokenPipeError:
        return 1
    except SystemExit as exc:  # argparse's --help/--version (0) and usage errors (2)
        return exc.code if isinstance(exc.code, int) else 2
    except Exception as exc:  # noqa: BLE001 - a bug must still end as one line and exit 2
        return _fail(f"internal error: {type(exc).__name__}: {exc}")


def _fail(message: str, code: int = 2) -> int:
    first = message.strip().splitlines()[0] if message.strip() else "unknown error"
    print(f"pgolf-audit: error: {first}", file=sys.stderr)
    return code


def _main(argv: list[str]) -> int:
    parser, sub = build_parser()
    if not argv:
        parser.print_help(sys.stderr)
        return 2
    args = parser.parse_args(_with_default_command(argv, list(sub.choices)))
    if args.command == "check":
        return run_check(args)
    if args.command == "rules":
        return run_rules(args)
    if args.command == "docs":
        return run_docs(args)
    return int(args.func(args))


def _config(args: argparse.Namespace) -> Config | None:
    if args.config is not None:
        return load_file(args.config)
    return discover_config()


def _guard_output(output: Path, inputs: Sequence[Path]) -> None:
    target = Path(os.path.realpath(output))
    for path in inputs:
        real = Path(os.path.realpath(path))
        if target == real or real in target.parents:
            raise UsageError(f"--output {output} would overwrite or write inside the input {path}; choose another file")
    if target.is_dir():
        raise UsageError(f"--output {output} is a directory")
    if not target.parent.is_dir():
        raise UsageError(f"--output {output}: folder {output.parent} does not exist")


def run_check(args: argparse.Namespace) -> int:
    config = _config(args)
    options = AuditOptions(select=tuple(args.select), ignore=tuple(args.ignore), dynamic=args.dynamic, config=config,
                           as_of=args.as_of)
    fail_on = args.fail_on or (config.fail_on if config else "review")
    repo = args.repo or Path(".")
    if args.output is not None:
        _guard_output(args.output, args.paths if args.git_ref is None else [repo / p for p in args.paths])
    progress = args.progress or sys.stderr.isatty()
    err = Console(stderr=True)
    if not args.paths and args.git_ref is None:
        raise UsageError("name at least one PATH to audit (or --git-ref REF for the record folders a ref adds)")
    if args.git_ref is not None:
        results = _audit_git_ref(args.git_ref, repo, args.paths, options, args, progress, err)
    else:
        inputs = discover(args.paths)
        results = run_batch(inputs, options, jobs=args.jobs, progress=progress, timeout=args.timeout, console=err)
    ctx = ReportContext(root=repo if (args.repo or args.git_ref) else Path.cwd(), fail_on=fail_on)
    _emit(args, results, ctx, progress, err)
    for result in results:
        if result.error is not None:  # also on stderr: a report on stdout or in a file is easy to miss
            where = "" if result.error.startswith(result.path) else f"{result.path}: "
            print(f"pgolf-audit: error: {where}{result.error}", file=sys.stderr)
    return exit_code(results, fail_on)


def _emit(args: argparse.Namespace, results: list[InputResult], ctx: ReportContext, progress: bool, err: Console) -> None:
    if args.output is None and args.format == "text":
        from auditor.report.terminal import print_report

        print_report(Console(highlight=False, width=None if sys.stdout.isatty() else 120), results, ctx)
        return
    text = render(args.format, results, ctx)
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    if progress and len(results) > 1 and args.format != "text":
        from auditor.report.terminal import summary_table

        err.print(summary_table(results, ctx))


def _audit_git_ref(
    ref: str, repo: Path, paths: Sequence[Path], options: AuditOptions, args: argparse.Namespace, progress: bool, err: Console
) -> list[InputResult]:
    """PATHs as they are at ``ref``; with no PATH, every input ``ref`` changes code in under ``records/``
    since its merge base with the default branch (a PR head; the empty tree when it shares no history).
    Files are written one by one into a scratch folder (the checkout is never touched; a file the clone
    lacks is skipped with a notice on stderr) and reported under their repository paths."""
    from auditor.package import modes

    notices: list[str] = []
    try:
        try:
            commit = modes.resolve_commit(repo, ref)
        except modes.GitError as exc:
            raise UsageError(f"unknown git ref {ref!r} in {repo} ({exc})") from exc
        if paths:
            rels = [(Path(os.path.relpath(p, repo)) if p.is_absolute() else p).as_posix() for p in paths]
            skipped: list[modes.Skipped] = []
            with modes.materialized(repo, commit, rels, skipped) as scratch:
                missing = [r for r in rels if not (scratch / r).exists()]
                if missing and not any(k.path == missing[0] or k.path.startswith(missing[0] + "/") for k in skipped):
                    raise UsageError(f"{missing[0]}: not in {ref}")
                inputs = discover([scratch / r for r in rels if (scratch / r).exists()]) if len(missing) < len(rels) else []
                results = run_batch(inputs, options, jobs=args.jobs, progress=progress, timeout=args.timeout, console=err)
                for result in results:
                    modes.relabel(result, str(scratch), str(repo))
                    result.extra["git"] = {"ref": ref, "commit": commit}
            notices += [f"{k.path}: not audited: {k.reason}" for k in skipped]
        else:
            base = modes.default_base(repo, commit)
            if base.note:
                notices.append(base.note.replace(commit[:12], ref, 1))
            changes = modes.pr_changes(repo, base, commit)
            if not pr_inputs(changes).audited:
                raise UsageError(f"{ref} changes no code in a record folder under records/")
            git_info = {"ref": ref, "commit": commit, "compared_with": base.tree, **({"note": base.note} if base.note else {})}
            results = modes.audit_changes(
                repo, commit, changes,
                lambda inputs: run_batch(inputs, options, jobs=args.jobs, progress=progress, timeout=args.timeout,
                                         console=err),
                notices, git_info)
    except modes.GitError as exc:
        raise UsageError(str(exc)) from exc
    for line in notices:
        print(f"pgolf-audit: note: {line}", file=sys.stderr)
    return results


def run_rules(args: argparse.Namespace) -> int:
    from auditor.registry import catalog, rule_by_code
    from auditor.report.rule_docs import kind, page

    if args.rules_command == "explain":
        rule = rule_by_code(args.code)
        if rule is None:
            raise UsageError(f"unknown check code {args.code!r}; `pgolf-audit rules` lists them")
        if args.format == "json":
            from auditor.rulings import history

            rulings = [{"id": r.id, "date": r.date, "url": r.url, "title": r.title, "status": r.status, "quote": r.quote,
                        "governs": [{"case": g.case, "before": g.before.name if g.before else None, "after": g.after.name}
                                    for g in r.governs if g.check == rule.code]} for r in history(rule.code)]
            print(json.dumps({"code": rule.code, "markdown": page(rule), "history": rulings}))
        else:
            Console().print(Markdown(page(rule)))
        return 0
    rules = catalog()
    if args.format == "json":
        rows = [
            {"code": r.code, "name": r.name, "rule": r.rule_id, "family": r.family, "kind": kind(r),
             "status": r.status.value, "level": r.level.name, "summary": r.summary(), "docs_url": r.docs_url()}
            for r in rules
        ]
        print(json.dumps(rows, indent=2))
        return 0
    table = Table(title=f"pgolf-audit checks ({len(rules)}; rules as of {RULESET_DATE})", title_justify="left")
    for column in ("Code", "Rule", "Name", "Kind", "Status", "Level"):
        table.add_column(column, no_wrap=True)
    for r in rules:
        table.add_row(r.code, r.rule_id, r.name, kind(r), r.status.value, r.level.name)
    Console(width=None if sys.stdout.isatty() else 160).print(table)
    return 0


def run_docs(args: argparse.Namespace) -> int:
    from auditor.report.rule_docs import stale_files, write_docs

    if args.check:
        stale = stale_files(args.out)
        if stale:
            print(f"pgolf-audit: {len(stale)} stale page(s) in {args.out}: {', '.join(stale)}; run `pgolf-audit docs --out {args.out}`", file=sys.stderr)
            return 1
        return 0
    written = write_docs(args.out)
    print(f"wrote {len(written)} pages to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
