"""Subcommands of ``pgolf-audit`` for record folders: ``verify``, ``reproduce``, ``pr``, ``leaderboard``.

    pgolf-audit verify FOLDER... [--sota-folder DIR | --sota-val-loss X,Y,Z] [--format json] [-o FILE]
    pgolf-audit reproduce FOLDER --seeds 42,1337,2025 --nproc 8 --data-path DIR --tokenizer-path FILE
    pgolf-audit pr --repo DIR --base origin/main --head HEAD [--format sarif]
    pgolf-audit leaderboard --repo DIR [--ref REF] --markdown FILE --html FILE

Reports are rendered by ``auditor.report`` (text, json, sarif, github, markdown); exit codes follow
the CLI (0 PASS, 1 FAIL/REVIEW, 2 could not run). ``cli.main`` turns exceptions into one-line errors;
bad input here raises ``UsageError`` with the message.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from auditor.batch import UsageError
from auditor.findings import InputResult
from auditor.package.check import Sota
from auditor.report import FORMATS, ReportContext, render
from auditor.report.json_report import exit_code


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds must be integers, comma-separated: {text!r}") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"expected distinct seeds, got {text!r}")
    return seeds


def _floats(text: str) -> list[float]:
    try:
        return [float(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers, comma-separated: {text!r}") from None


def _env_pair(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    return key, value


def _codes(text: str) -> list[str]:
    return [c.strip().upper() for c in text.split(",") if c.strip()]


def _report_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=FORMATS, default="text", help="report format (default: text)")
    p.add_argument("-o", "--output", type=Path, metavar="FILE", help="write the report to FILE instead of stdout")
    p.add_argument("--fail-on", choices=("review", "fail"), default="review", help="lowest verdict that exits 1")
    p.add_argument("--select", type=_codes, action="extend", default=[], metavar="CODES")
    p.add_argument("--ignore", type=_codes, action="extend", default=[], metavar="CODES")


def _sota_options(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--sota-folder", type=Path, metavar="DIR", help="the record folder the claim must beat (its per-seed logs)")
    g.add_argument("--sota-val-loss", type=_floats, metavar="X[,Y...]", help="the SOTA's per-seed val_loss (nats), or its mean")


def register(sub: argparse._SubParsersAction) -> None:
    v = sub.add_parser("verify", help="verify record folders: files, submission.json, logs, claims, caps, seeds")
    v.add_argument("folders", nargs="+", type=Path, metavar="FOLDER")
    v.add_argument("--tolerance", type=float, default=1e-5, help="allowed |claimed − logged| val_bpb beyond rounding")
    _sota_options(v)
    _report_options(v)
    v.set_defaults(func=run_verify)

    r = sub.add_parser("reproduce", help="re-run a record folder with torchrun per seed and compare with its claims")
    r.add_argument("folder", type=Path, metavar="FOLDER")
    r.add_argument("--seeds", type=_seeds, required=True, metavar="S1,S2,...")
    r.add_argument("--nproc", type=int, default=8, help="GPUs per run (torchrun --nproc_per_node; default 8)")
    r.add_argument("--data-path", metavar="DIR", help="dataset folder (DATA_PATH)")
    r.add_argument("--tokenizer-path", metavar="FILE", help="tokenizer model (TOKENIZER_PATH)")
    r.add_argument("--env", type=_env_pair, action="append", default=[], metavar="KEY=VALUE", help="extra environment")
    r.add_argument("--out", type=Path, default=Path("reproduce-out"), metavar="DIR", help="work dir, logs and report")
    r.add_argument("--timeout", type=float, default=1800.0, metavar="SECONDS", help="per-seed wall-clock limit")
    r.add_argument("--tolerance", type=float, default=0.002, help="allowed |claimed − reproduced| val_bpb per seed")
    r.add_argument("--launcher", default="torchrun --standalone", help="command that starts the script")
    _sota_options(r)
    _report_options(r)
    r.set_defaults(func=run_reproduce)

    p = sub.add_parser("pr", help="audit the record folders a PR changes code in (since the merge base), and its scope")
    p.add_argument("--repo", type=Path, default=Path("."), metavar="DIR")
    p.add_argument("--base", required=True, metavar="REF")
    p.add_argument("--head", default="HEAD", metavar="REF")
    p.add_argument("--package-only", action="store_true", help="skip the static stage (package checks only)")
    p.add_argument("--dynamic", action=argparse.BooleanOptionalAction, default=None,
                   help="run the dynamic probes on the record folders (default: on, as for `check`)")
    p.add_argument("-j", "--jobs", type=int, default=1)
    _report_options(p)
    p.set_defaults(func=run_pr)

    lb = sub.add_parser("leaderboard", help="audit every folder under records/ into Markdown and HTML tables")
    lb.add_argument("--repo", type=Path, default=Path("."), metavar="DIR")
    lb.add_argument("--ref", metavar="REF", help="audit records/ as of this commit (default: the working tree)")
    lb.add_argument("--markdown", type=Path, metavar="FILE", help="write the Markdown table here (default: stdout)")
    lb.add_argument("--html", type=Path, metavar="FILE", help="write the HTML table here")
    lb.add_argument("--json", type=Path, metavar="FILE", help="write the full JSON report here")
    lb.add_argument("--package-only", action="store_true", help="skip the static stage (package checks only)")
    lb.add_argument("--dynamic", action=argparse.BooleanOptionalAction, default=None,
                    help="run the dynamic probes on every folder (default: on, as for `check`)")
    lb.add_argument("-j", "--jobs", type=int, default=1)
    lb.add_argument("--fail-on", choices=("review", "fail", "never"), default="review",
                    help="lowest verdict that exits 1, as in check (default: review; never: always 0)")
    lb.add_argument("--link-base", metavar="URL", help="evidence links point at URL/<path>#L<line> (default: the GitHub "
                    "blob URL of the audited commit when the repository has a GitHub remote, else the files themselves)")
    lb.set_defaults(func=run_leaderboard)


def _sota(args: argparse.Namespace) -> Sota | None:
    if getattr(args, "sota_folder", None):
        from auditor.package.folder import load_folder

        if not args.sota_folder.is_dir():
            raise UsageError(f"--sota-folder {args.sota_folder}: not a directory")
        model = load_folder(args.sota_folder)
        losses = tuple(model.headline(r).val_loss for r in model.runs_for_claim())
        if not losses:
            raise UsageError(f"--sota-folder {args.sota_folder}: no log with a headline evaluation line")
        return Sota(val_losses=losses, mean_val_loss=statistics.fmean(losses), label=str(args.sota_folder))
    if getattr(args, "sota_val_loss", None):
        values = tuple(args.sota_val_loss)
        return Sota(val_losses=values if len(values) > 1 else (), mean_val_loss=statistics.fmean(values),
                    label=f"val_loss {', '.join(map(str, values))}")
    return None


def _emit(args: argparse.Namespace, results: list[InputResult], root: Path | None = None) -> int:
    ctx = ReportContext(fail_on=args.fail_on) if root is None else ReportContext(root=root, fail_on=args.fail_on)
    text = render(args.format, results, ctx)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
    else:
        sys.stdout.write(text)
    return exit_code(results, args.fail_on)


def run_verify(args: argparse.Namespace) -> int:
    from auditor.package.modes import package_only

    sota = _sota(args)
    results = []
    for folder in args.folders:
        results.append(package_only(folder, sota=sota, select=args.select, ignore=args.ignore,
                                    bpb_tolerance=args.tolerance))
    return _emit(args, results)


def run_reproduce(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from auditor.package.reproduce import reproduce

    if not args.folder.is_dir():
        raise UsageError(f"{args.folder}: not a directory")
    err = Console(stderr=True)
    try:
        rep = reproduce(args.folder, args.seeds, args.out, nproc=args.nproc, data_path=args.data_path,
                        tokenizer_path=args.tokenizer_path, extra_env=dict(args.env), tolerance=args.tolerance,
                        timeout_s=args.timeout, sota=_sota(args), launcher=args.launcher.split(),
                        progress=lambda m: err.print(f"[dim]reproduce[/dim] {m}"))
    except (ValueError, OSError) as exc:
        raise UsageError(str(exc)) from exc
    table = Table(title=f"reproduction of {args.folder}")
    for col in ("seed", "exit", "claimed bpb", "reproduced bpb", "Δ", "ok", "bytes", "train s", "eval s"):
        table.add_column(col)
    for row in rep.table():
        fmt = lambda v, f: "–" if v is None else format(v, f)  # noqa: E731
        table.add_row(str(row["seed"]), "timeout" if row["timed_out"] else str(row["returncode"]),
                      fmt(row["claimed_val_bpb"], ".5f"), fmt(row["val_bpb"], ".5f"), fmt(row["delta"], "+.5f"),
                      {True: "yes", False: "NO", None: "–"}[row["within_tolerance"]], fmt(row["bytes_total"], ",d"),
                      fmt(row["train_seconds"], ".1f"), fmt(row["eval_seconds"], ".1f"))
    err.print(table)
    result = InputResult(path=str(args.folder), sha256=None, findings=rep.findings, extra=rep.extra)
    (args.out / "reproduce.json").write_text(render("json", [result], ReportContext(fail_on=args.fail_on)))
    failed = [row for row in rep.table() if row["timed_out"] or row["returncode"] != 0]
    if failed:
        result.error = f"{len(failed)} run(s) did not finish: seeds {', '.join(str(r['seed']) for r in failed)}"
    return _emit(args, [result])


def run_pr(args: argparse.Namespace) -> int:
    from auditor.package.modes import GitError, audit_pr

    notices: list[str] = []
    try:
        results = audit_pr(args.repo, args.base, args.head, full=not args.package_only, dynamic=args.dynamic,
                           jobs=args.jobs, progress=sys.stderr.isatty(), select=args.select, ignore=args.ignore,
                           notices=notices)
    except GitError as exc:
        raise UsageError(str(exc)) from exc
    # what the report cannot show as a finding (the empty-tree comparison, files the clone lacks)
    for line in notices:
        print(f"pgolf-audit: note: {line}", file=sys.stderr)
    return _emit(args, results, root=args.repo)  # paths as the repository names them (SARIF, annotations)


def run_leaderboard(args: argparse.Namespace) -> int:
    from auditor.package.modes import GitError, audit_folders, git, materialized, record_folders, relabel
    from auditor.report import leaderboard

    progress = sys.stderr.isatty()  # progress on stderr only on a terminal
    commit = None
    try:
        if args.ref:
            commit = git(args.repo, "rev-parse", "--verify", "--quiet", f"{args.ref}^{{commit}}").decode().strip()
            with materialized(args.repo, commit, ["records"]) as scratch:
                folders = record_folders(scratch)
                results = audit_folders(folders, full=not args.package_only, dynamic=args.dynamic, jobs=args.jobs,
                                        progress=progress)
                for r in results:
                    relabel(r, str(scratch), str(args.repo))
        else:
            folders = record_folders(args.repo)
            results = audit_folders(folders, full=not args.package_only, dynamic=args.dynamic, jobs=args.jobs,
                                    progress=progress)
    except GitError as exc:
        raise UsageError(str(exc)) from exc
    if not results:
        raise UsageError(f"{args.repo}: no folders under records/<track>/")
    rows = leaderboard.rows(results, args.repo)
    base = args.link_base or leaderboard.github_blob_base(args.repo, commit)
    md = leaderboard.markdown(rows, link_base=base)
    if args.markdown:
        args.markdown.write_text(md, encoding="utf-8")
    else:
        sys.stdout.write(md)
    if args.html:
        where = f"{args.ref} ({commit[:12]})" if commit else str(args.repo)
        args.html.write_text(leaderboard.page(rows, subtitle=f"{len(rows)} record folders of {where}, audited by "
                                              f"pgolf-audit; click a row for its findings, a header to sort",
                                              link_base=base, page_dir=args.html.resolve().parent,
                                              root=args.repo.resolve()), encoding="utf-8")
    if args.json:
        args.json.write_text(render("json", results, ReportContext(root=args.repo)))
    return 0 if args.fail_on == "never" else exit_code(results, args.fail_on)