"""The accepted-leaderboard report: one row per record folder, as Markdown and as an HTML page.

Per folder: the verdict, the submission's date (and where it came from), claimed vs logged val_bpb,
the largest artifact, training and evaluation times, every FAIL with the ruling it rests on (title,
date, thread) and the log or code line that is its evidence, and the REVIEWs grouped by check.

The HTML page is self-contained (inline CSS and script, no network): a sortable table (click a
header; numbers sort as numbers), one expandable row per folder (click the row, or Enter), a text
filter and verdict toggles. The page state can be set from the URL fragment, e.g.
``#sort=bytes-desc&open=3&verdict=FAIL`` — shareable links, and what the DOM test drives.
Evidence links point at ``link_base/<path>#L<line>`` (GitHub blob URLs when the repository has a
GitHub remote), else at the file relative to the page.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.findings import Finding, InputResult, Level, Verdict
from auditor.registry import rule_by_code
from auditor.rulings import Ruling, history, parse_when, rulings


@dataclass
class Cited:
    """One finding as the report shows it: what, where, and the ruling it rests on."""

    code: str
    rule: str
    level: str
    message: str
    path: str  # relative to the repository root
    line: int
    evidence: str
    ruling: str = ""
    ruling_date: str = ""
    ruling_url: str = ""


@dataclass
class Row:
    folder: str
    verdict: str
    date: str | None
    date_source: str | None
    claimed: float | None
    logged: float | None
    max_bytes: int | None
    max_train_s: float | None
    max_eval_s: float | None
    seeds: int
    fails: list[Cited] = field(default_factory=list)
    reviews: dict[str, list[Cited]] = field(default_factory=dict)
    warns: int = 0
    error: str | None = None

    @property
    def delta(self) -> float | None:
        if self.claimed is None or self.logged is None:
            return None
        d = self.claimed - self.logged
        return 0.0 if abs(d) < 5e-6 else d  # no "-0.00000" from the logs' own rounding


def rows(results: Sequence[InputResult], root: Path) -> list[Row]:
    """One row per audited folder, in the order given."""
    return [_row(r, root) for r in results]


def _row(r: InputResult, root: Path) -> Row:
    seeds = r.extra.get("seeds") or []

    def biggest(key: str) -> Any:
        values = [s[key] for s in seeds if isinstance(s.get(key), (int, float))]
        return max(values) if values else None

    dated = r.extra.get("submission_date") or {}
    row = Row(folder=_rel(r.path, root), verdict=r.verdict.value, date=dated.get("date"), date_source=dated.get("source"),
              claimed=r.extra.get("claimed_val_bpb"), logged=r.extra.get("logged_val_bpb_mean"),
              max_bytes=biggest("bytes_total"), max_train_s=biggest("train_seconds"), max_eval_s=biggest("eval_seconds"),
              seeds=len(seeds), error=r.error)
    counted = [f for f in r.sorted_findings() if f.waived is None]
    for f in counted:
        if f.level is Level.FAIL:
            row.fails.append(_cite(f, root, row.date))
        elif f.level is Level.REVIEW:
            row.reviews.setdefault(f.code, []).append(_cite(f, root, row.date))
        elif f.level is Level.WARN:
            row.warns += 1
    return row


def _cite(f: Finding, root: Path, date: str | None) -> Cited:
    c = Cited(code=f.code, rule=f.rule, level=f.level.name, message=f.message, path=_rel(f.path, root), line=f.line,
              evidence=f.evidence[0] if f.evidence else "")
    ruling = ruling_of(f, date)
    if ruling is not None:
        c.ruling, c.ruling_date, c.ruling_url = ruling.title, ruling.date, ruling.url
    else:
        info = rule_by_code(f.code)
        if info is not None:
            c.ruling, c.ruling_url = "; ".join(info.rulings), info.ruling_url
    return c


def ruling_of(f: Finding, date: str | None) -> Ruling | None:
    """The ruling a finding rests on: the rule version it applied, else the latest ruling its check
    cites that was in force on the submission's date (else its earliest)."""
    version = f.data.get("rule_version")
    cited_id = version.get("ruling") if isinstance(version, dict) else (f.data.get("ruling") or {}).get("id")
    if cited_id:
        found = next((r for r in rulings() if r.id == cited_id), None)
        if found is not None:
            return found
    cited = history(f.code)
    if not cited:
        return None
    if date:
        try:
            when = parse_when(date)
        except ValueError:
            return cited[0]
        in_force = [r for r in cited if when.on_or_after(r.when)]
        return in_force[-1] if in_force else cited[0]
    return cited[-1]


def github_blob_base(repo: Path, commit: str | None) -> str | None:
    """``https://github.com/OWNER/NAME/blob/COMMIT`` when ``repo`` has a GitHub ``origin``, else None."""
    import re
    import subprocess

    try:
        url = subprocess.run(["git", "-C", str(repo), "config", "--get", "remote.origin.url"], capture_output=True,
                             text=True, timeout=10, check=False).stdout.strip()
        if not commit:
            commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                                    timeout=10, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.match(r"(?:https://github\.com/|git@github\.com:)([^/]+/[^/]+?)(?:\.git)?/?$", url)
    return f"https://github.com/{m.group(1)}/blob/{commit}" if m and commit else None


def _rel(path: str, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path


# ----- Markdown ------------------------------------------------------------------------------------
COLUMNS = ("Folder", "Date", "Verdict", "Claimed bpb", "Logged bpb", "Max bytes", "Max train s", "Max eval s", "FAIL",
           "REVIEW")


def _num(v: float | None, fmt: str) -> str:
    return "–" if v is None else format(v, fmt)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(rows: Sequence[Row], link_base: str | None = None) -> str:
    tally = {v.value: sum(1 for r in rows if r.verdict == v.value) for v in Verdict}
    out = ["# pgolf-audit: the accepted leaderboard, audited", "",
           " · ".join(f"**{k}** {n}" for k, n in tally.items()), "",
           "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        reviews = ", ".join(f"{code} ×{len(items)}" for code, items in r.reviews.items()) or "–"
        out.append("| " + " | ".join(_md(c) for c in [
            r.folder, r.date or "–", r.verdict, _num(r.claimed, ".5f"), _num(r.logged, ".5f"), _num(r.max_bytes, ",.0f"),
            _num(r.max_train_s, ".1f"), _num(r.max_eval_s, ".1f"), str(len(r.fails)) if not r.error else "error",
            reviews]) + " |")
    for r in rows:
        if not (r.fails or r.reviews or r.error):
            continue
        out += ["", f"## {r.folder} — {r.verdict}", ""]
        if r.error:
            out.append(f"- ERROR: {_md(r.error)}")
        for c in r.fails:
            where = _link_md(c, link_base)
            ruling = f"[{c.ruling}]({c.ruling_url})" if c.ruling_url else c.ruling or "—"
            out.append(f"- **FAIL {c.code}** ({c.rule}) {_md(c.message)}  ")
            out.append(f"  ruling: {ruling}{', ' + c.ruling_date if c.ruling_date else ''}; evidence: {where}"
                       + (f" `{_md(c.evidence)[:200]}`" if c.evidence else ""))
        for code, items in r.reviews.items():
            out.append(f"- REVIEW {code} ×{len(items)}: {_md(items[0].message)} ({_link_md(items[0], link_base)})")
    return "\n".join(out) + "\n"


def _href(c: Cited, link_base: str | None, page_dir: Path | None = None, root: Path | None = None) -> str:
    if link_base:
        return f"{link_base.rstrip('/')}/{c.path}#L{c.line}"
    if page_dir is not None and root is not None and not Path(c.path).is_absolute():
        return Path(os.path.relpath(root / c.path, page_dir)).as_posix() + f"#L{c.line}"
    return f"{c.path}#L{c.line}"


def _link_md(c: Cited, link_base: str | None) -> str:
    return f"[{c.path}:{c.line}]({_href(c, link_base)})"


# ----- HTML ----------------------------------------------------------------------------------------
_STYLE = """
:root{--fail:#b3261e;--review:#a15c00;--pass:#1b6e2a;--error:#6b3fa0;--line:#d9dde3;--muted:#5f6b7a}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1d232b;background:#fafbfc}
h1{font-size:20px;margin:0 0 4px}
.sub{color:var(--muted);margin:0 0 14px}
.bar{display:flex;gap:8px;align-items:center;flex-wrap:wrap;margin-bottom:12px}
.chip{border:1px solid var(--line);border-radius:14px;padding:3px 10px;background:#fff;cursor:pointer;font-weight:600}
.chip[aria-pressed=false]{opacity:.45}
.chip.FAIL{color:var(--fail)}.chip.REVIEW{color:var(--review)}.chip.PASS{color:var(--pass)}.chip.ERROR{color:var(--error)}
#filter{padding:5px 9px;border:1px solid var(--line);border-radius:6px;min-width:260px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line)}
th{position:sticky;top:0;background:#eef1f5;text-align:left;padding:7px 8px;border-bottom:1px solid var(--line);cursor:pointer;white-space:nowrap;user-select:none}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
td{padding:6px 8px;border-top:1px solid var(--line);vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.date{white-space:nowrap}
tr.summary{cursor:pointer}tr.summary:hover{background:#f3f6fa}
tr.summary td:first-child::before{content:"\\25B8 ";color:var(--muted)}
tr.summary[aria-expanded=true] td:first-child::before{content:"\\25BE "}
.verdict{font-weight:700}.verdict.FAIL{color:var(--fail)}.verdict.REVIEW{color:var(--review)}.verdict.PASS{color:var(--pass)}.verdict.ERROR{color:var(--error)}
.folder{font-family:ui-monospace,Menlo,monospace;font-size:12.5px;overflow-wrap:anywhere}
.track{font-family:system-ui,sans-serif;font-size:11px;color:var(--muted);border:1px solid var(--line);border-radius:8px;padding:0 5px;white-space:nowrap}
tr.details td{background:#fbfcfd;padding:10px 16px 14px}
.finding{margin:6px 0 10px;padding-left:10px;border-left:3px solid var(--line)}
.finding.FAIL{border-color:var(--fail)}.finding.REVIEW{border-color:var(--review)}
.code{font-weight:700}.meta{color:var(--muted);font-size:12.5px}
.ev{font-family:ui-monospace,Menlo,monospace;font-size:12px;background:#f1f3f6;padding:2px 6px;border-radius:4px;display:inline-block;max-width:100%;overflow-wrap:anywhere}
details{margin:4px 0}summary{cursor:pointer}
.none{color:var(--muted)}
"""

_SCRIPT = """
(function(){
  const table=document.getElementById('board');
  const heads=[...table.querySelectorAll('th')];
  const entries=()=>[...table.querySelectorAll('tbody.entry')];
  function toggle(tb,open){
    const s=tb.querySelector('tr.summary'),d=tb.querySelector('tr.details');
    const on=open===undefined?d.hidden:open; d.hidden=!on; s.setAttribute('aria-expanded',String(on));
  }
  function sortBy(key,dir){
    const th=heads.find(h=>h.dataset.key===key); if(!th) return;
    heads.forEach(h=>h.removeAttribute('aria-sort'));
    th.setAttribute('aria-sort',dir>0?'ascending':'descending');
    const num=th.dataset.type==='num';
    const val=tb=>{const v=tb.dataset[key]; return num?(v===''?NaN:parseFloat(v)):(v||'');};
    const list=entries().sort((a,b)=>{
      const x=val(a),y=val(b);
      if(num){ if(isNaN(x)&&isNaN(y)) return 0; if(isNaN(x)) return 1; if(isNaN(y)) return -1; return (x-y)*dir; }
      return x.localeCompare(y)*dir;
    });
    list.forEach(tb=>table.appendChild(tb));
  }
  function applyFilter(){
    const q=document.getElementById('filter').value.toLowerCase();
    const on=new Set([...document.querySelectorAll('.chip[aria-pressed=true]')].map(c=>c.dataset.verdict));
    entries().forEach(tb=>{ tb.hidden=!(on.has(tb.dataset.verdict)&&tb.textContent.toLowerCase().includes(q)); });
  }
  heads.forEach(h=>h.addEventListener('click',()=>sortBy(h.dataset.key,h.getAttribute('aria-sort')==='ascending'?-1:1)));
  entries().forEach(tb=>{
    const s=tb.querySelector('tr.summary');
    s.addEventListener('click',e=>{ if(!e.target.closest('a')) toggle(tb); });
    s.addEventListener('keydown',e=>{ if(e.key==='Enter'||e.key===' '){ e.preventDefault(); toggle(tb); } });
  });
  document.getElementById('filter').addEventListener('input',applyFilter);
  document.querySelectorAll('.chip').forEach(c=>c.addEventListener('click',()=>{
    c.setAttribute('aria-pressed',c.getAttribute('aria-pressed')==='true'?'false':'true'); applyFilter(); }));
  const state=new URLSearchParams(location.hash.slice(1));
  if(state.get('sort')){ const [k,d]=state.get('sort').split('-'); sortBy(k,d==='desc'?-1:1); }
  if(state.get('verdict')){ const keep=new Set(state.get('verdict').split(','));
    document.querySelectorAll('.chip').forEach(c=>c.setAttribute('aria-pressed',String(keep.has(c.dataset.verdict)))); applyFilter(); }
  (state.get('open')||'').split(',').filter(Boolean).forEach(i=>{ const tb=document.getElementById('row-'+i); if(tb) toggle(tb,true); });
  document.body.dataset.ready='1';
})();
"""

_HEADERS = (  # label, data key, type
    ("Folder", "folder", "text"), ("Date", "date", "text"), ("Verdict", "rank", "num"), ("Claimed bpb", "claimed", "num"),
    ("Logged bpb", "logged", "num"), ("Δ bpb", "delta", "num"), ("Max bytes", "bytes", "num"),
    ("Train s", "train", "num"), ("Eval s", "eval", "num"), ("FAIL", "fails", "num"), ("REVIEW", "reviews", "num"),
    ("WARN", "warns", "num"),
)
_RANK = {"PASS": 0, "REVIEW": 1, "FAIL": 2, "ERROR": 3}


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _attr(v: float | None) -> str:
    return "" if v is None else repr(v)


def page(rows: Sequence[Row], *, title: str = "pgolf-audit: the accepted leaderboard, audited",
         subtitle: str = "", link_base: str | None = None, page_dir: Path | None = None, root: Path | None = None) -> str:
    """The HTML page (see the module docstring)."""
    tally = {v.value: sum(1 for r in rows if r.verdict == v.value) for v in Verdict}
    chips = "".join(f'<button class="chip {k}" data-verdict="{k}" aria-pressed="true">{k} {n}</button>'
                    for k, n in tally.items())
    head = "".join(f'<th scope="col" data-key="{key}" data-type="{typ}">{_e(label)}</th>' for label, key, typ in _HEADERS)
    body = "\n".join(_entry(i, r, link_base, page_dir, root) for i, r in enumerate(rows))
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head>\n<body>\n"
        f"<h1>{_e(title)}</h1>\n<p class=\"sub\">{_e(subtitle)}</p>\n"
        f"<div class=\"bar\">{chips}<input id=\"filter\" type=\"search\" placeholder=\"filter folders, checks, messages\" "
        "aria-label=\"filter\"></div>\n"
        f"<table id=\"board\"><thead><tr>{head}</tr></thead>\n{body}\n</table>\n"
        f"<script>{_SCRIPT}</script>\n</body></html>\n"
    )


def _entry(i: int, r: Row, link_base: str | None, page_dir: Path | None, root: Path | None) -> str:
    n_reviews = sum(len(v) for v in r.reviews.values())
    data = {"folder": r.folder, "date": r.date or "", "rank": _RANK[r.verdict], "claimed": _attr(r.claimed),
            "logged": _attr(r.logged), "delta": _attr(r.delta), "bytes": _attr(r.max_bytes), "train": _attr(r.max_train_s),
            "eval": _attr(r.max_eval_s), "fails": len(r.fails), "reviews": n_reviews, "warns": r.warns,
            "verdict": r.verdict}
    attrs = " ".join(f'data-{k}="{_e(v)}"' for k, v in data.items())
    cells = [
        f'<td class="folder" title="{_e(r.folder)}">{_e(_name(r.folder))}{_track(r.folder)}</td>',
        f'<td class="date" title="{_e(r.date_source or "")}">{_e((r.date or "–")[:10])}</td>',
        f'<td class="verdict {r.verdict}">{r.verdict}</td>',
        f'<td class="num">{_num(r.claimed, ".5f")}</td>', f'<td class="num">{_num(r.logged, ".5f")}</td>',
        f'<td class="num">{_num(r.delta, "+.5f")}</td>', f'<td class="num">{_num(r.max_bytes, ",.0f")}</td>',
        f'<td class="num">{_num(r.max_train_s, ".1f")}</td>', f'<td class="num">{_num(r.max_eval_s, ".1f")}</td>',
        f'<td class="num">{len(r.fails)}</td>', f'<td class="num">{n_reviews}</td>', f'<td class="num">{r.warns}</td>',
    ]
    return (f'<tbody class="entry" id="row-{i}" {attrs}>'
            f'<tr class="summary" tabindex="0" aria-expanded="false">{"".join(cells)}</tr>'
            f'<tr class="details" hidden><td colspan="{len(_HEADERS)}">{_details(r, link_base, page_dir, root)}</td></tr>'
            "</tbody>")


def _name(folder: str) -> str:
    return folder.rstrip("/").rsplit("/", 1)[-1]


def _track(folder: str) -> str:
    """A short track label under the folder name (the full path is the cell's title)."""
    parts = folder.split("/")
    track = next((p for p in parts if p.startswith("track_")), "")
    label = "non-record" if "non_record" in track else track.removeprefix("track_")
    return f' <span class="track">{_e(label)}</span>' if label else ""


def _details(r: Row, link_base: str | None, page_dir: Path | None, root: Path | None) -> str:
    out: list[str] = []
    dated = f"{r.date} ({r.date_source})" if r.date else "unknown (the latest rules apply)"
    out.append(f'<p class="meta">Judged by the rules in force on {_e(dated)} · {r.seeds} logged run(s)</p>')
    if r.error:
        out.append(f'<div class="finding FAIL"><span class="code">ERROR</span> {_e(r.error)}</div>')
    if r.fails:
        out.append("<h3>FAIL</h3>")
        out += [_finding(c, link_base, page_dir, root) for c in r.fails]
    if r.reviews:
        out.append("<h3>REVIEW</h3>")
        for code, items in r.reviews.items():
            inner = "".join(_finding(c, link_base, page_dir, root) for c in items)
            out.append(f"<details><summary><span class=\"code\">{_e(code)}</span> {_e(items[0].rule)} ×{len(items)}: "
                       f"{_e(items[0].message[:160])}</summary>{inner}</details>")
    if not (r.fails or r.reviews or r.error):
        out.append('<p class="none">No FAIL or REVIEW finding.</p>')
    return "".join(out)


def _finding(c: Cited, link_base: str | None, page_dir: Path | None, root: Path | None) -> str:
    ruling = (f'<a href="{_e(c.ruling_url)}">{_e(c.ruling)}</a>' if c.ruling_url else _e(c.ruling or "—"))
    date = f", {_e(c.ruling_date)}" if c.ruling_date else ""
    href = _href(c, link_base, page_dir, root)
    evidence = f' <span class="ev">{_e(c.evidence[:240])}</span>' if c.evidence else ""
    return (f'<div class="finding {c.level}"><span class="code">{_e(c.code)}</span> {_e(c.rule)} — {_e(c.message)}'
            f'<div class="meta">ruling: {ruling}{date} · evidence: <a class="evidence" href="{_e(href)}">'
            f"{_e(c.path)}:{c.line}</a>{evidence}</div></div>")


def to_json(rows: Sequence[Row]) -> str:
    """The rows as JSON (for tools that build their own views)."""
    from dataclasses import asdict

    return json.dumps([asdict(r) | {"delta": r.delta} for r in rows], indent=2) + "\n"
