"""The rulings registry (``rules/rulings.toml``) and the submission's date: which version of a rule
was in force when a submission was made.

A verdict a maintainer accepts judges a record by the rules of its own date: rules changed during the
contest (the README's 3-run guidance arrived on 2026-03-19 at 22:03 UTC), and the final leaderboard
tolerated some letters of the rules (GPTQ calibration a few seconds past the cap). Each ruling in the
registry names the checks it governs and their level before and after its date; :func:`version`
picks the one in force on the submission's date and says which it applied.

The submission's date, in order of precedence: ``--as-of``; the PR's creation time when known; the
``date`` in ``submission.json``; the ``YYYY-MM-DD`` prefix of the folder name; the author date of the
folder's first commit when the folder sits in a git checkout.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from auditor.findings import Level

REGISTRY = Path(__file__).resolve().parents[1] / "rules" / "rulings.toml"
_UTC = dt.UTC
_STATUSES = ("README rule", "maintainer ruling", "maintainer practice", "community consensus", "disputed")


class RulingsError(ValueError):
    """The registry or a date given on the command line is malformed (exit 2 with this message)."""


@dataclass(frozen=True)
class When:
    """A point in time as written: ``precision`` is ``time``, ``day`` or ``month``; ``start`` is the
    first instant the text can mean (UTC)."""

    text: str
    start: dt.datetime
    precision: str

    def on_or_after(self, ruling: When) -> bool:
        """Whether a submission at ``self`` falls on or after ``ruling`` took effect. A day-precision
        submission is placed at the start of its day: a ruling that took effect later that same day
        (the 3-run guidance at 22:03 UTC) was not yet in force for it — the benefit of the doubt."""
        return self.start >= ruling.start


def parse_when(text: str) -> When:
    """``YYYY-MM``, ``YYYY-MM-DD``, or an ISO date-time (``Z`` or an offset; naive means UTC)."""
    raw = str(text).strip()
    if re.fullmatch(r"\d{4}-\d\d", raw):
        return When(raw, dt.datetime.strptime(raw, "%Y-%m").replace(tzinfo=_UTC), "month")
    if re.fullmatch(r"\d{4}-\d\d-\d\d", raw):
        return When(raw, dt.datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=_UTC), "day")
    try:
        moment = dt.datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError as exc:
        raise RulingsError(f"not a date: {raw!r} (expected YYYY-MM-DD or an ISO date-time)") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_UTC)
    return When(raw, moment.astimezone(_UTC), "time")


@dataclass(frozen=True)
class Governs:
    check: str
    case: str
    after: Level
    before: Level | None
    note: str


@dataclass(frozen=True)
class Ruling:
    id: str
    when: When
    url: str
    title: str
    quote: str
    status: str
    checks: tuple[str, ...]
    governs: tuple[Governs, ...]

    @property
    def date(self) -> str:
        return self.when.text


@dataclass(frozen=True)
class SubmissionDate:
    when: When
    #: where the date came from: "--as-of", "PR creation", "submission.json date", "folder name", "first commit"
    source: str

    def describe(self) -> str:
        return f"{self.when.text} ({self.source})"


@dataclass(frozen=True)
class Version:
    """The level a (check, case) has on the submission's date, and the ruling that set it."""

    check: str
    case: str
    level: Level
    ruling: Ruling
    #: True: the ruling was in force on the submission's date; False: the submission predates it
    in_force: bool
    date: SubmissionDate | None
    note: str

    def describe(self) -> str:
        """One line naming the rule version applied, for a finding's message."""
        r = self.ruling
        when = self.date.describe() if self.date else "date unknown: the latest rules"
        side = "in force" if self.in_force else "not yet in force"
        return f"rule version: {r.title} ({r.date}, {r.url}), {side} for a submission dated {when}"

    def as_data(self) -> dict[str, object]:
        return {
            "case": self.case, "level": self.level.name, "ruling": self.ruling.id, "ruling_date": self.ruling.date,
            "url": self.ruling.url, "in_force": self.in_force,
            "submission_date": self.date.when.text if self.date else None,
            "date_source": self.date.source if self.date else None,
        }


def _level(value: object, where: str) -> Level:
    try:
        return Level[str(value).upper()]
    except KeyError as exc:
        raise RulingsError(f"{where}: unknown level {value!r}") from exc


@cache
def rulings(path: Path = REGISTRY) -> tuple[Ruling, ...]:
    """Every ruling in the registry, oldest first; validated (levels, statuses, dates, unique ids)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RulingsError(f"{path}: {exc}") from exc
    out: list[Ruling] = []
    for i, entry in enumerate(data.get("ruling", [])):
        where = f"{path.name} ruling #{i + 1} ({entry.get('id', '?')})"
        missing = [k for k in ("id", "date", "url", "title", "quote", "status") if not entry.get(k)]
        if missing:
            raise RulingsError(f"{where}: missing {', '.join(missing)}")
        if entry["status"] not in _STATUSES:
            raise RulingsError(f"{where}: unknown status {entry['status']!r}")
        when = parse_when(entry["date"])
        governs = []
        for g in entry.get("governs", []):
            before = _level(g["before"], where) if "before" in g else None
            if before is not None and when.precision == "month":
                raise RulingsError(f"{where}: a month-precision date cannot decide a level by date")
            governs.append(Governs(g["check"], g["case"], _level(g["after"], where), before, g.get("note", "")))
        checks = tuple(dict.fromkeys([*entry.get("checks", []), *(g.check for g in governs)]))
        out.append(Ruling(entry["id"], when, entry["url"], entry["title"], entry["quote"], entry["status"],
                          checks, tuple(governs)))
    ids = [r.id for r in out]
    if len(set(ids)) != len(ids):
        raise RulingsError(f"{path.name}: duplicate ruling ids")
    return tuple(sorted(out, key=lambda r: r.when.start))


def history(code: str) -> list[Ruling]:
    """The rulings a check cites or is governed by, oldest first."""
    return [r for r in rulings() if code.upper() in r.checks]


def governed(check: str, case: str) -> bool:
    """Whether some ruling sets the level of (``check``, ``case``)."""
    return any(g.check == check and g.case == case for r in rulings() for g in r.governs)


def version(check: str, case: str, date: SubmissionDate | None) -> Version:
    """The level of (``check``, ``case``) on ``date``: the latest governing ruling in force then, else
    the earliest one's ``before`` level. Without a date, the latest ruling applies (today's rules)."""
    entries = [(r, g) for r in rulings() for g in r.governs if g.check == check and g.case == case]
    if not entries:
        raise KeyError(f"no ruling governs {check} case {case!r}")
    if date is None:
        r, g = entries[-1]
        return Version(check, case, g.after, r, True, None, g.note)
    in_force = [(r, g) for r, g in entries if g.before is None or date.when.on_or_after(r.when)]
    if in_force:
        r, g = in_force[-1]
        return Version(check, case, g.after, r, True, date, g.note)
    r, g = entries[0]
    assert g.before is not None
    return Version(check, case, g.before, r, False, date, g.note)


def submission_date(
    folder: Path, claim_date: str | None = None, as_of: str | None = None, pr_created: str | None = None
) -> SubmissionDate | None:
    """The date a submission is judged by (module docstring); ``None`` when nothing states one."""
    if as_of:
        return SubmissionDate(parse_when(as_of), "--as-of")
    if pr_created:
        return SubmissionDate(parse_when(pr_created), "PR creation")
    if claim_date:
        try:
            return SubmissionDate(parse_when(claim_date), "submission.json date")
        except RulingsError:
            pass  # a free-text date: fall through to the folder name
    if m := re.match(r"(\d{4}-\d\d-\d\d)_", folder.name):
        return SubmissionDate(parse_when(m.group(1)), "folder name")
    first = _first_commit_date(folder)
    return SubmissionDate(parse_when(first), "first commit") if first else None


def _first_commit_date(folder: Path) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(folder), "log", "--diff-filter=A", "--format=%aI", "--", "."],
                             capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    dates = out.stdout.split() if out.returncode == 0 else []
    return dates[-1] if dates else None


def check_as_of(text: str) -> str:
    """Validate a ``--as-of`` value (argparse type); returns it unchanged."""
    parse_when(text)
    return text
