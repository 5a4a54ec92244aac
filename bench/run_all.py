"""Run every bench/bench_*.py in turn with the same environment (`make bench`).

Each benchmark prints its own figures and its ratio against a baseline measured in the same
run, and exits non-zero when its target is missed. This runner prints a summary and exits
non-zero if any benchmark failed. `python bench/run_all.py crypto trend` runs only the
benchmarks whose file names contain one of the words.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def selected(filters: list[str]) -> list[Path]:
    scripts = sorted(BENCH_DIR.glob("bench_*.py"))
    return [s for s in scripts if not filters or any(f in s.stem for f in filters)]


def run(script: Path) -> tuple[int, float]:
    print(f"=== {script.name} ===", flush=True)
    start = time.perf_counter()
    result = subprocess.run([sys.executable, str(script)], cwd=BENCH_DIR.parent, check=False)
    return result.returncode, time.perf_counter() - start


def main(argv: list[str]) -> int:
    scripts = selected(argv)
    if not scripts:
        print("No benchmarks matched.")
        return 2
    results = [(script.name, *run(script)) for script in scripts]
    print("=== summary ===")
    for name, code, seconds in results:
        print(f"  {'ok    ' if code == 0 else 'FAILED'} {name} ({seconds:.1f} s)")
    return 0 if all(code == 0 for _, code, _ in results) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
