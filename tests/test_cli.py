"""``scanarr`` / ``python -m sidecar`` as a user runs it: a real process against a real fake
TMDB on 127.0.0.1 -- exit codes, the one-line summary on stderr, valid files on disk,
``status --json``; the missing key; a bad setting.  Argument parsing is checked in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sidecar import cli
from sidecar.metadata import validate_document
from tests.corekit import make_files
from tests.fakes.fake_tmdb import FakeTmdb

REPO = Path(__file__).resolve().parent.parent
MOVIES = ["Heat (1995) {tmdb-949}/Heat (1995) {tmdb-949}.mkv",
          "Inception (2010)/Inception (2010).mkv",
          "Kill Bill (2003)/Kill Bill (2003) - cd1.avi",
          "Kill Bill (2003)/Kill Bill (2003) - cd2.avi",
          "1080p.mkv"]  # unidentifiable: an error, never a stop
EPISODES = ["Some Show (2010)/Season 01/Some Show - S01E01.mkv",
            "Some Show (2010)/Season 02/Some Show - S02E01E02.mkv"]


@pytest.fixture
def library(tmp_path: Path) -> tuple[Path, Path]:
    movies, tv = tmp_path / "Movies", tmp_path / "TV"
    make_files(movies, MOVIES)
    make_files(tv, EPISODES)
    return movies, tv


def base_env(tmp_path: Path, roots: tuple[Path, ...], **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCANARR_")}
    env["SCANARR_DATA_DIR"] = str(tmp_path / "data")
    env["SCANARR_LIBRARIES"] = os.pathsep.join(str(r) for r in roots)
    env.update(extra)
    return env


def scanarr(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sidecar", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_scan_against_the_fake_then_status(tmp_path: Path, fake: FakeTmdb,
                                           library: tuple[Path, Path]) -> None:
    env = base_env(tmp_path, library, SCANARR_TMDB_API_URL=fake.url,
                   SCANARR_TMDB_API_KEY=fake.api_key)
    result = scanarr(env, "scan")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    summary = lines[-1]
    assert summary.startswith("quick scan: 7 files, 6 new")
    assert "1 errors" in summary and "fetched: 6 indexed, 0 in error" in summary
    assert any("error:" in line and "1080p.mkv" in line for line in lines[:-1])
    assert fake.api_key not in result.stderr

    docs = sorted(p for root in library for p in root.rglob("*metadata.json"))
    assert len(docs) == 3 + 1 + 2  # movies alone (Heat, Inception, Kill Bill), show, episodes
    for path in docs:
        validate_document(json.loads(path.read_text(encoding="utf-8")))
    assert fake.stats()["rate_limited"] == 0

    report = scanarr(env, "status", "--json")
    assert report.returncode == 0, report.stderr
    status = json.loads(report.stdout)
    assert status["counts"]["INDEXED"] == 6 and status["counts"]["ERROR"] == 1
    assert status["errors_by_reason"] == {"unidentified": 1}
    assert status["tmdb"] == {"key_configured": True, "auth_error": None}
    assert status["queue"] == 0
    assert status["runs"][0]["mode"] == "quick" and status["runs"][0]["status"] == "done"


def test_scan_without_a_key(tmp_path: Path, library: tuple[Path, Path]) -> None:
    env = base_env(tmp_path, library)
    result = scanarr(env, "scan")
    assert result.returncode == 0, result.stderr
    summary = result.stderr.strip().splitlines()[-1]
    assert "quick scan: 7 files, 6 new" in summary
    assert "no TMDB key: 6 item(s) wait for SCANARR_TMDB_API_KEY" in summary
    report = scanarr(env, "status")
    assert report.returncode == 0
    assert "NEW 6" in report.stdout and "TMDB: no API key" in report.stdout


def test_a_bad_setting_exits_2_naming_it(tmp_path: Path, library: tuple[Path, Path]) -> None:
    result = scanarr(base_env(tmp_path, library, SCANARR_WORKERS="abc"), "scan")
    assert result.returncode == cli.EXIT_CONFIG == 2
    assert "configuration error" in result.stderr and "workers" in result.stderr
    assert "'abc'" in result.stderr
    assert "Traceback" not in result.stderr


# --- in-process: parsing and dispatch -------------------------------------------------------


def test_parser() -> None:
    parser = cli.build_parser()
    args = parser.parse_args(["scan", "--mode", "full", "/a", "/b"])
    assert (args.command, args.mode, args.paths) == ("scan", "full", ["/a", "/b"])
    assert parser.parse_args(["scan"]).mode == "quick"
    assert parser.parse_args(["status", "--json"]).json is True
    args = parser.parse_args(["match", "/a.mkv", "603"])
    assert (args.path, args.tmdb_id) == ("/a.mkv", 603)
    assert parser.parse_args(["serve"]).port == 8765


@pytest.mark.parametrize("argv", [[], ["scan", "--mode", "sideways"], ["match", "/a", "x"],
                                  ["frobnicate"]])
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("scanarr ")


def test_config_error_in_process(monkeypatch: pytest.MonkeyPatch, data_dir: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SCANARR_RATE_WINDOW", "fast")
    assert cli.main(["status"]) == 2
    assert "rate_window: must be a number" in capsys.readouterr().err


def test_status_in_process(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["status", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) >= {"counts", "errors_by_reason", "queue", "tmdb", "runs",
                           "recent_errors"}
