from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import netguard
from server import SiteServer

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
SHARED = ROOT.parent / "shared"
GUARD = Path(__file__).resolve().parent / "guard"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--regen-golden", action="store_true",
                     help="rewrite fixtures/*/expected/*.json from the extractors' output "
                          "(read the diff before committing)")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    if "network" in request.keywords:
        return
    monkeypatch.setattr("socket.getaddrinfo", netguard._guarded_getaddrinfo)
    monkeypatch.setattr("socket.socket.connect", netguard._guarded_connect)
    monkeypatch.setattr("socket.socket.connect_ex", netguard._guarded_connect_ex)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's own config or archive."""
    for var in ("IPNEWS_DB", "IPNEWS_CONFIG", "IPNEWS_DEBUG", "IPNEWS_TEST_CRASH_AFTER"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


def others_off(*served: str) -> str:
    """Config tables that turn off every built-in source but those a test's mirrors serve:
    the others would ask the real sites (which the network guard refuses)."""
    from ipnews.sources import source_names

    return "".join(f"\n[sources.{n}]\nenabled = false\n" for n in source_names()
                   if n not in served)


@dataclass
class Mirror:
    """Both sources served from a private copy of fixtures/ that a test may edit."""

    root: Path
    ctplo: SiteServer
    shine: SiteServer
    config: Path
    db: Path

    def write_config(self, **fetch: object) -> Path:
        lines = ["[fetch]", "delay = 0", "backoff = 0.05", "timeout = 10", "deadline = 30"]
        lines += [f"{k} = {json.dumps(v)}" for k, v in fetch.items()]
        lines += ["", "[sources.ctplo]", f'base_url = "{self.ctplo.url}"',
                  "", "[sources.shine]", f'base_url = "{self.shine.url}"']
        self.config.write_text("\n".join(lines) + "\n" + others_off("ctplo", "shine"),
                               encoding="utf-8")
        return self.config


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[Mirror]:
    root = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, root)
    ctplo = SiteServer(root / "ctplo" / "site", content_type="text/html; charset=utf-8")
    shine = SiteServer(root / "shine" / "site", content_type="text/html")
    m = Mirror(root, ctplo, shine, tmp_path / "config.toml", tmp_path / "ipnews.db")
    m.write_config()
    yield m
    ctplo.close()
    shine.close()


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def ipnews(capsys: pytest.CaptureFixture[str]):
    """Run the CLI in this process, as `ipnews ARGS...` would, and return code/out/err."""
    from ipnews.cli import main

    def run(*args: str) -> Result:
        capsys.readouterr()
        try:
            main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
        else:  # pragma: no cover - main always exits
            code = 0
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)
    return run


def rows(db: Path, sql: str, *params: object) -> list[tuple]:
    """Rows of a query on an archive file, for assertions."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def child_env(**extra: str) -> dict[str, str]:
    """Environment for an ipnews subprocess: the network guard loaded, no user config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPNEWS_")}
    env["PYTHONPATH"] = os.pathsep.join([str(GUARD), env.get("PYTHONPATH", "")]).strip(os.pathsep)
    env.update(extra)
    return env


def run_child(args: list[str], timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ipnews", *args], capture_output=True,
                          text=True, timeout=timeout, env=child_env(**env))


@pytest.fixture(scope="session")
def _fetched_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both fixture sites fetched once per test session; tests get a copy of the file."""
    from ipnews.cli import main

    base = tmp_path_factory.mktemp("fetched")
    ctplo = SiteServer(FIXTURES / "ctplo" / "site", content_type="text/html; charset=utf-8")
    shine = SiteServer(FIXTURES / "shine" / "site", content_type="text/html")
    config = base / "config.toml"
    config.write_text(f'[fetch]\ndelay = 0\n\n[sources.ctplo]\nbase_url = "{ctplo.url}"\n\n'
                      f'[sources.shine]\nbase_url = "{shine.url}"\n' + others_off("ctplo", "shine"),
                      encoding="utf-8")
    db = base / "archive.db"
    try:
        main(["fetch", "-q", "--db", str(db), "--config", str(config)])
    except SystemExit as exc:
        assert exc.code == 0
    finally:
        ctplo.close()
        shine.close()
    return db


@pytest.fixture
def archive_db(_fetched_once: Path, tmp_path: Path) -> Path:
    """A private copy of an archive holding every fixture article."""
    db = tmp_path / "archive.db"
    shutil.copy(_fetched_once, db)
    return db
