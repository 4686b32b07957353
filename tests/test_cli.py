"""The command line as users meet it: every command, output formats, errors, docs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from conftest import FIXTURES, child_env, run_child
from ipnews.cli import cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8") if (ROOT / "README.md").exists() else ""
COMMANDS = sorted(cli.commands)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help_with_an_example_and_is_in_the_readme(name, ipnews):
    result = ipnews(name, "--help")
    assert result.code == 0
    assert "Example:" in result.out and f"ipnews {name}" in result.out
    assert re.search(rf"ipnews {name}\b", README), f"README does not show `ipnews {name}`"


def test_show_export_sources_runs(archive_db, ipnews):
    db = ("--db", str(archive_db))
    record = json.loads(ipnews("show", "1", "--json", *db).out)[0]
    assert record["id"] == 1 and record["body"] and record["urls"] and record["versions"]
    by_url = json.loads(ipnews("show", record["url"], "--json", *db).out)
    assert by_url[0]["id"] == 1
    table = ipnews("show", "1", *db).out
    assert record["title"] in table and record["body"].split("\n\n")[0] in table
    missing = ipnews("show", "99999", *db)
    assert missing.code == 2 and "no article" in missing.err

    lines = ipnews("export", "--jsonl", *db).out.splitlines()
    assert len(lines) == 26
    ctplo = [json.loads(line) for line in ipnews("export", "--source", "ctplo", "--jsonl",
                                                 *db).out.splitlines()]
    assert len(ctplo) == 9 and all(r["source"] == "ctplo" for r in ctplo)
    dates = [r["published_at"] for r in ctplo]
    assert dates == sorted(dates)
    csv_out = ipnews("export", "--csv", "--fields", "id,title", *db).out.splitlines()
    assert csv_out[0] == "id,title" and len(csv_out) == 27

    sources = {r["name"]: r for r in json.loads(ipnews("sources", "--json", *db).out)}
    assert sources["ctplo"]["articles"] == 9 and sources["shine"]["articles"] == 17
    assert sources["shine"]["last_status"] == "ok" and sources["shine"]["last_run"]

    runs = json.loads(ipnews("runs", "--json", *db).out)
    assert {r["source"] for r in runs} == {"ctplo", "shine"}
    shine = next(r for r in runs if r["source"] == "shine")
    assert (shine["new"], shine["duplicate"], shine["skipped"], shine["failed"]) == (17, 1, 1, 0)


def test_sources_works_before_any_fetch(tmp_path, ipnews):
    result = ipnews("sources", "--json", "--db", str(tmp_path / "none.db"))
    assert result.code == 0
    from ipnews.sources import source_names

    assert [r["name"] for r in json.loads(result.out)] == source_names()
    assert len(source_names()) == 10
    assert not (tmp_path / "none.db").exists()


def test_extract_prints_one_article_and_stores_nothing(tmp_path, ipnews):
    page = ROOT / "fixtures/shine/site/news/nation/2411159985/index.html"
    result = ipnews("extract", "--source", "shine", str(page), "--db", str(tmp_path / "x.db"))
    assert result.code == 0, result.err
    data = json.loads(result.out)
    expected = json.loads((ROOT / "fixtures/shine/expected/news-nation-2411159985.json")
                          .read_text("utf-8"))
    assert data["url"] == expected["url"]
    assert data["body"] == expected["expected"]["body"]
    assert data["ip_terms"]
    assert not (tmp_path / "x.db").exists()


def test_extract_generic_path(ipnews):
    slug = "border-recordal-a-low-cost-tool-against-counterfeit-exports"
    page = ROOT / "fixtures" / "ctplo" / "site" / "blog" / slug / "index.html"
    result = ipnews("extract", str(page))
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["extraction"] == "trafilatura" and data["source"] == "generic"
    assert "customs recordal" in data["body"]


def test_extract_refuses_non_html(tmp_path, ipnews):
    import gzip

    bomb = tmp_path / "page.html"
    bomb.write_bytes(gzip.compress(b"\0" * 1_000_000))
    result = ipnews("extract", str(bomb))
    assert result.code == 3 and "not html" in result.err


@pytest.mark.parametrize(("config", "message"), [
    ("[fetch]\ndelay = 'slow'\n", "fetch.delay must be a float"),
    ("[fetch]\nspeed = 1\n", "unknown key fetch.speed"),
    ("[sources.nosuch]\nbase_url = 'http://127.0.0.1:1'\n", "unknown source"),
    ("[sources.shine]\nbase_url = 'ftp://example.org'\n", "base_url is not an http(s) URL"),
    ("[sources.shine]\ncolour = 'red'\n", "unknown option for source shine"),
    ("[fetch\n", "cannot read config"),
])
def test_G9_bad_config_is_a_usage_error_naming_the_key(tmp_path, ipnews, config, message):
    path = tmp_path / "config.toml"
    path.write_text(config, encoding="utf-8")
    result = ipnews("fetch", "--config", str(path), "--db", str(tmp_path / "a.db"))
    assert result.code == 2, result.err
    assert message in result.err and "Traceback" not in result.err


def test_unknown_source_and_missing_config(tmp_path, ipnews):
    assert ipnews("fetch", "nosuch", "--db", str(tmp_path / "a.db")).code == 2
    result = ipnews("fetch", "--config", str(tmp_path / "missing.toml"))
    assert result.code == 2 and "config file not found" in result.err


def test_env_variables_choose_db_and_config(mirror, ipnews, monkeypatch):
    monkeypatch.setenv("IPNEWS_DB", str(mirror.db))
    monkeypatch.setenv("IPNEWS_CONFIG", str(mirror.config))
    assert ipnews("fetch", "ctplo", "-q").code == 0
    assert len(json.loads(ipnews("search", "trademark", "--json").out)) > 0


def test_default_db_lives_in_the_user_data_dir(mirror, tmp_path):
    done = run_child(["fetch", "ctplo", "-q", "--config", str(mirror.config)],
                     XDG_DATA_HOME=str(tmp_path / "data"), HOME=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "data" / "ipnews" / "ipnews.db").exists()


def test_G4_no_control_characters_reach_stdout(mirror, ipnews):
    page = mirror.root / "shine/site/news/nation/2411159985/index.html"
    html = page.read_text(encoding="utf-8-sig")
    dirty = html.replace("<h1>", "<h1>\x1b]0;pwn\x07&#x9b;31m\u202e", 1)
    page.write_text(dirty, encoding="utf-8")
    args = ("--db", str(mirror.db), "--config", str(mirror.config))
    assert ipnews("fetch", "shine", "-q", *args).code == 0
    for fmt in ("--json", "--jsonl", "--csv", "--table"):
        out = ipnews("search", "sneakers", fmt, *args).out
        assert out and not any(c in out for c in "\x1b\x07\x9b\u202e"), fmt
    child = subprocess.run(f'"{sys.executable}" -m ipnews search sneakers --json --db '
                           f'"{mirror.db}" | jq -r ".[].title"', shell=True, text=True,
                           capture_output=True, env=child_env())
    if child.returncode == 0:  # jq is optional on a developer's machine
        assert child.stdout and "\x1b" not in child.stdout


@pytest.mark.parametrize("env", [{"LC_ALL": "C"}, {"LANG": ""}, {"PYTHONIOENCODING": "ascii"}])
def test_G6_odd_locales_still_give_utf8_json(archive_db, env):
    done = run_child(["search", "知识产权", "--exact", "--json", "--db", str(archive_db)],
                     **env)
    assert done.returncode == 0, done.stderr
    assert "知识产权" in json.loads(done.stdout)[0]["snippet"]
    table = run_child(["search", "知识产权", "--db", str(archive_db)], **env)
    assert table.returncode == 0 and "Traceback" not in table.stderr


def test_G8_cron_like_environment_is_quiet(mirror, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": child_env()["PYTHONPATH"]}
    done = subprocess.run([sys.executable, "-m", "ipnews", "fetch", "-q", "--db",
                           str(mirror.db), "--config", str(mirror.config)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_internal_errors_are_one_line_unless_debug(archive_db, ipnews, monkeypatch):
    import ipnews.store as store

    def boom(*args, **kwargs):
        raise ZeroDivisionError("bug")
    monkeypatch.setattr(store, "search", boom)
    result = ipnews("search", "customs", "--db", str(archive_db))
    assert result.code == 1 and result.err.count("\n") == 1 and "--debug" in result.err
    with pytest.raises(ZeroDivisionError):
        ipnews("search", "customs", "--db", str(archive_db), "--debug")


def test_version_and_group_help(ipnews):
    assert ipnews("--version").out.startswith("ipnews, version")
    help_text = ipnews("--help").out
    for name in COMMANDS:
        assert name in help_text
    assert isinstance(cli, click.Group)


def test_ci_runs_the_readme_commands():
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    assert "grep" in ci and "README.md" in ci
    assert "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' && " \
           "ruff check src tests && python -m pytest" in README
    assert "pip install . && ipnews fetch" in README


def test_extract_reads_a_batch_one_line_per_input_in_order(tmp_path, ipnews):
    good = FIXTURES / "ctplo/site/blog/how-to-register-a-trademark-in-china-step-by-step" \
        / "index.html"
    junk = tmp_path / "junk.html"
    junk.write_text("<html><body><p>Login</p></body></html>", "utf-8")
    missing = tmp_path / "missing.html"
    result = ipnews("extract", str(good), str(junk), str(missing), str(good))
    assert result.code == 3, result.err
    lines = [json.loads(line) for line in result.out.splitlines()]
    assert [r["input"] for r in lines] == [str(good), str(junk), str(missing), str(good)]
    assert "error" not in lines[0] and lines[0]["title"] == lines[3]["title"]
    assert lines[1]["kind"] == "no_article" and lines[2]["error"].startswith("cannot read")


def _example_commands() -> list[str]:
    """Every `ipnews ...` command line the README's code blocks and the commands' help
    show, cut at the first shell operator or comment."""
    texts, block, lang = [], None, ""
    for line in README.splitlines():
        if line.startswith("```"):
            if block is None:
                block, lang = [], line[3:].strip()
            else:
                if lang in ("", "sh", "bash"):
                    texts.append("\n".join(block))
                block = None
        elif block is not None:
            block.append(line)
    texts += [cli.commands[n].get_help(click.Context(cli)).split("Example:")[-1]
              for n in COMMANDS]
    lines = [m for text in texts for m in re.findall(r"(?:^|[\s'(])(ipnews [^\n]*)", text)]
    lines = [re.sub(r"\$\([^)]*\)", "X", line) for line in lines]  # $(date +%F)
    return sorted({re.split(r"\s\||\s>|&&|;|\s#|'", line)[0].strip() for line in lines})


@pytest.mark.parametrize("line", _example_commands())
def test_every_example_command_line_parses(line):
    """An example that puts an option where the command does not take it (`ipnews --db X
    merge`) fails for whoever copies it."""
    import shlex

    name, *args = shlex.split(line)[1:]
    command = cli.commands[name]  # the group itself takes no option but --version
    if isinstance(command, click.Group) and args and args[0] in command.commands:
        name, *args = args
        command = command.commands[name]
    command.make_context(name, args)  # raises on an option it does not take
