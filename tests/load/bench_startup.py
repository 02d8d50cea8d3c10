"""How long a management command takes to start: `manage.py check`, run as a new process with
PYTHONDONTWRITEBYTECODE=1 (as CI runners and containers set it), in the virtualenv that `make
install` made. The target: under 1.5 s (median of 7). It was 5 s when nothing compiled the
virtualenv's bytecode, and 1.8 s with compiled bytecode before start-up was trimmed (`manage.py`
pauses garbage collection while the apps load; pycountry's table and markdown-it are no longer
read at import).

`make bench` prints the figure; `make test` runs the command once and checks it succeeds."""

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tests.load.conftest import FULL

BASE_DIR = Path(__file__).resolve().parents[2]
TARGET_SECONDS = 1.5


def test_manage_py_check_starts_quickly(benchmark):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(PYTHONDONTWRITEBYTECODE="1", DEBUG="true")
    timings = []

    def check() -> None:
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "manage.py", "check"],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        timings.append(time.perf_counter() - started)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "System check identified no issues" in result.stdout

    benchmark.pedantic(check, rounds=7 if FULL else 1, iterations=1)
    median = statistics.median(timings)
    benchmark.extra_info["median_seconds"] = round(median, 2)
    print(f"\nmanage.py check: median {median:.2f}s of {len(timings)} (min {min(timings):.2f}s)")
    if FULL:
        assert median < TARGET_SECONDS
