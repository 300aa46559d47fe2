"""``pgolf-audit leaderboard`` on a throwaway repository of our fixture folders: Markdown, the HTML
page rendered in headless Chromium (the DOM after its script ran), progress and exit codes."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from auditor.cli import main

RECORDS = Path(__file__).resolve().parent / "records"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FOLDERS = ("2026-03-20_SingleRunLate", "2026-04-05_BytesRounded", "2026-04-06_BytesAtStake", "2026-04-20_GptqOvershoot")


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository holding four fixture folders, audited into leaderboard.md/.html/.json."""
    root = tmp_path_factory.mktemp("lb")
    repo = root / "repo"
    for name in FOLDERS:
        shutil.copytree(RECORDS / "track_10min_16mb" / name, repo / "records" / "track_10min_16mb" / name)
    out = root / "out"
    out.mkdir()
    code = main(["leaderboard", "--repo", str(repo), "--package-only", "--markdown", str(out / "leaderboard.md"),
                 "--html", str(out / "leaderboard.html"), "--link-base", "https://github.com/o/r/blob/abc"])
    assert code == 1  # FAILs and REVIEWs with the default --fail-on review, as in check
    return out


def test_markdown_lists_every_fail_with_its_ruling_and_evidence(board: Path) -> None:
    md = (board / "leaderboard.md").read_text()
    assert "**PASS** 1 · **REVIEW** 1 · **FAIL** 2 · **ERROR** 0" in md
    assert ("| records/track_10min_16mb/2026-03-20_SingleRunLate | 2026-03-20 | FAIL | 1.10000 | 1.10000 | 15,850,179 "
            "| 599.9 | 72.6 | 1 | – |") in md
    assert ("  ruling: [README adds the 3-run guidance](https://github.com/openai/parameter-golf/commits/main/README.md), "
            "2026-03-19T22:03Z; evidence: [records/track_10min_16mb/2026-03-20_SingleRunLate/submission.json:6]"
            "(https://github.com/o/r/blob/abc/records/track_10min_16mb/2026-03-20_SingleRunLate/submission.json#L6)") in md
    assert "- REVIEW PG621 ×3: seed 314: training loop 599.6 s" in md


def test_fail_on_follows_check(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(RECORDS / "track_10min_16mb" / "2026-04-05_BytesRounded",
                    repo / "records" / "track_10min_16mb" / "2026-04-05_BytesRounded")
    assert main(["leaderboard", "--repo", str(repo), "--package-only", "--markdown", str(tmp_path / "a.md")]) == 0
    shutil.copytree(RECORDS / "track_10min_16mb" / "2026-04-20_GptqOvershoot",
                    repo / "records" / "track_10min_16mb" / "2026-04-20_GptqOvershoot")
    assert main(["leaderboard", "--repo", str(repo), "--package-only", "--markdown", str(tmp_path / "b.md")]) == 1
    assert main(["leaderboard", "--repo", str(repo), "--package-only", "--fail-on", "fail",
                 "--markdown", str(tmp_path / "c.md")]) == 0


def test_no_progress_on_stderr_when_it_is_not_a_terminal(board: Path, tmp_path: Path,
                                                        capfd: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(RECORDS / "track_10min_16mb" / "2026-04-05_BytesRounded",
                    repo / "records" / "track_10min_16mb" / "2026-04-05_BytesRounded")
    capfd.readouterr()
    main(["leaderboard", "--repo", str(repo), "--markdown", str(tmp_path / "a.md")])
    assert capfd.readouterr().err == ""


class _Dom(HTMLParser):
    """The entries of the rendered page: tbody ids in order, which details rows are open, links."""

    def __init__(self) -> None:
        super().__init__()
        self.order: list[str] = []
        self.verdicts: list[str] = []
        self.hidden_entries: list[str] = []
        self.open: list[str] = []
        self.evidence: list[str] = []
        self.sorted: dict[str, str] = {}
        self.ready = False
        self._entry = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "body":
            self.ready = a.get("data-ready") == "1"
        if tag == "tbody" and "entry" in (a.get("class") or ""):
            self._entry = a.get("id") or ""
            self.order.append(self._entry)
            self.verdicts.append(a.get("data-verdict") or "")
            if "hidden" in a:
                self.hidden_entries.append(self._entry)
        if tag == "tr" and a.get("class") == "details" and "hidden" not in a:
            self.open.append(self._entry)
        if tag == "a" and "evidence" in (a.get("class") or ""):
            self.evidence.append(a.get("href") or "")
        if tag == "th" and a.get("aria-sort"):
            self.sorted[a.get("data-key") or ""] = a.get("aria-sort") or ""


def _dom(page: Path, fragment: str) -> _Dom:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium); the DOM test needs a browser")
    out = subprocess.run([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=3000",
                          "--dump-dom", f"{page.as_uri()}#{fragment}"], capture_output=True, text=True, timeout=120,
                         check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    dom = _Dom()
    dom.feed(out.stdout)
    assert dom.ready, "the page script did not run"
    return dom


def test_html_renders_sorts_expands_and_filters_in_chromium(board: Path) -> None:
    page = board / "leaderboard.html"
    plain = _dom(page, "")
    assert plain.order == ["row-0", "row-1", "row-2", "row-3"] and plain.open == [] and plain.hidden_entries == []
    assert plain.verdicts == ["FAIL", "PASS", "FAIL", "REVIEW"]
    by_bytes = _dom(page, "sort=bytes-desc&open=2")
    assert by_bytes.sorted == {"bytes": "descending"}
    # numeric, not text order: 16,064,179 > 15,928,100 > 15,850,479 > 15,850,179
    assert by_bytes.order == ["row-2", "row-3", "row-1", "row-0"]
    assert by_bytes.open == ["row-2"]
    assert ("https://github.com/o/r/blob/abc/records/track_10min_16mb/2026-04-06_BytesAtStake/train_seed42.log#L9"
            in by_bytes.evidence)
    fails_only = _dom(page, "verdict=FAIL")
    assert fails_only.hidden_entries == ["row-1", "row-3"]


def test_html_without_a_browser_has_one_expandable_row_per_folder(board: Path) -> None:
    html = (board / "leaderboard.html").read_text()
    assert len(re.findall(r'<tbody class="entry"', html)) == len(FOLDERS)
    assert len(re.findall(r'<tr class="details" hidden>', html)) == len(FOLDERS)
    assert "http" not in re.sub(r'href="[^"]*"', "", html).split("<script>")[1]  # the script loads nothing
