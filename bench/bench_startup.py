"""Process start: whole-process wall time of `ipnews --help` and `ipnews search WORD` (on an
empty archive and on a 100k-article one), and what each command imports.

A user waits for the whole process, so that is what is timed: interpreter start, imports,
config, opening the file, the query, printing. `python -c pass` is timed beside them as
the floor of this machine at this moment.
"""

from __future__ import annotations

import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import archive
import corpus
from measure import Row, check, child_env, ipnews_argv, median, ms, run_child, verdict

from ipnews.store import Archive

HELP_TARGET_S = 0.080
SEARCH_TARGET_S = 0.100
FORBIDDEN = ("trafilatura", "httpx", "sqlite_utils")  # never on the search path
WATCH = (*FORBIDDEN, "lxml", "selectolax", "charset_normalizer", "platformdirs", "click")


@dataclass
class Imports:
    modules: set[str]  # top-level package names imported
    total_us: int  # cumulative import time of all top-level imports
    heaviest: list[tuple[str, int]]  # top-level imports by cumulative time


def wall_medians(commands: dict[str, list[str]], env: dict[str, str],
                 runs: int) -> dict[str, float]:
    """Median wall time of each command. The commands take turns, round after round, so a
    burst of load on the shared machine lands on all of them rather than on one."""
    for argv in commands.values():
        check(run_child(argv, env), " ".join(argv[-3:]))  # warm: .pyc files, OS cache
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            times[name].append(check(run_child(argv, env), " ".join(argv[-3:])).wall)
    return {name: median(t) for name, t in times.items()}


_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|( *)(\S+)")


def imports_of(args: list[str], env: dict[str, str]) -> Imports:
    """Parse `python -X importtime`: every module imported, and the top-level ones' cost."""
    script = ipnews_argv()
    # The console script is a Python file: run it under -X importtime as it is.
    target = [script[0]] if len(script) == 1 else ["-m", "ipnews"]
    argv = [sys.executable, "-X", "importtime", *target, *args]
    child = check(run_child(argv, env), "python -X importtime")
    modules, top = set(), []
    for line in child.err.splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        cumulative, indent, name = int(m.group(2)), len(m.group(3)), m.group(4)
        modules.add(name.split(".")[0])
        if indent == 1:  # one space after the bar: imported by the script itself
            top.append((name, cumulative))
    top.sort(key=lambda t: -t[1])
    return Imports(modules, sum(c for _, c in top), top[:4])


def _imports_note(imp: Imports) -> str:
    present = [m for m in WATCH if m in imp.modules]
    heaviest = ", ".join(f"{n} {us / 1000:.0f} ms" for n, us in imp.heaviest)
    return (f"imports {len(imp.modules)} packages ({imp.total_us / 1000:.0f} ms, -X importtime)"
            f"; of note: {', '.join(present) or 'none'}; heaviest: {heaviest}")


def run(runs: int, quick: bool, log=print) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="ipnews-bench-start-") as tmp:
        home = Path(tmp)
        env = child_env(home)
        empty = home / "empty.db"
        Archive.open(empty).close()
        # --quick uses the 100k archive only if it is already cached (building it takes
        # ~20 s); otherwise the 10k one, and the row says so.
        big = 100_000
        if quick and not archive.cache_path(big).exists():
            big = 10_000
        big_db, _ = archive.ensure(big, log=log)
        cmd = ipnews_argv()
        word = corpus.COMMON_WORD
        log(f"process start: {runs} runs each ...")
        walls = wall_medians({
            "floor": [sys.executable, "-c", "pass"],
            "help": [*cmd, "--help"],
            "empty": [*cmd, "search", word, "--db", str(empty)],
            "big": [*cmd, "search", word, "--db", str(big_db)],
        }, env, runs)
        floor, help_s, empty_s, big_s = (walls[k] for k in ("floor", "help", "empty", "big"))
        help_imp = imports_of(["--help"], env)
        search_imp = imports_of(["search", word, "--db", str(empty)], env)
    rows.append(Row("start", "`python -c pass` (this machine's floor, now)", ms(floor),
                    note="performance.md measured 14 ms"))
    rows.append(Row("start", "`ipnews --help`, whole process", ms(help_s),
                    f"<= {ms(HELP_TARGET_S)}", verdict(help_s <= HELP_TARGET_S),
                    _imports_note(help_imp)))
    rows.append(Row("start", f"`ipnews search {word}`, empty archive", ms(empty_s),
                    note=_imports_note(search_imp)))
    label = f"{big // 1000}k"
    rows.append(Row("start", f"`ipnews search {word}`, {label}-article archive", ms(big_s),
                    f"<= {ms(SEARCH_TARGET_S)} at 100k",
                    verdict(big_s <= SEARCH_TARGET_S) if big == 100_000
                    else "100k not cached (--quick)",
                    f"{ms(big_s - empty_s)} more than on the empty archive"))
    leaked = [m for m in FORBIDDEN if m in search_imp.modules]
    rows.append(Row("start", "`ipnews search` imports trafilatura / httpx / sqlite_utils?",
                    ", ".join(f"{m}: {'YES' if m in leaked else 'no'}" for m in FORBIDDEN),
                    "none of them", verdict(not leaked)))
    return rows
