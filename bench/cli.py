"""The whole `defender-prereqs scan` on one snapshot file, as a user runs it, against references
measured in the same run: the time Python's `json.load` takes to merely read the file, and the
file's size. Prints each command's wall time, peak RSS, and the ratios.

    python3 bench/cli.py BINARY SNAPSHOT [RUNS]
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def run(cmd, stdout=subprocess.DEVNULL):
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        sys.exit(f"{' '.join(cmd)} failed ({code}): {err}")
    return elapsed, usage.ru_maxrss * 1024  # ru_maxrss is KiB on Linux


def json_load_seconds(path):
    start = time.perf_counter()
    with open(path, "rb") as f:
        json.load(f)
    return time.perf_counter() - start


def main():
    binary, snapshot = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    size = os.path.getsize(snapshot)
    ref = statistics.median(json_load_seconds(snapshot) for _ in range(runs))
    print(f"snapshot: {size / 1e6:.1f} MB; reference: Python json.load {ref:.2f} s (median of {runs})")
    print(f"{'command':<44} {'time':>8} {'x json.load':>12} {'peak RSS':>10} {'x file':>7}")
    with tempfile.TemporaryDirectory() as d:
        db = os.path.join(d, "state.db")
        cases = [
            ("scan --no-store --format json", ["--no-store", "--format", "json"]),
            ("scan --no-store (text summary)", ["--no-store"]),
            ("scan --no-store --format csv --only non-compliant", ["--no-store", "--format", "csv", "--only", "non-compliant"]),
            ("scan --db (first: every item written)", ["--db", db]),
            ("scan --db (again: unchanged)", ["--db", db]),
        ]
        for name, args in cases:
            times, peaks = [], []
            for _ in range(runs if "--db" not in args else 1):
                t, rss = run([binary, "scan", snapshot, "--color", "never", *args])
                times.append(t)
                peaks.append(rss)
            t, rss = statistics.median(times), max(peaks)
            print(f"{name:<44} {t:>7.2f}s {t / ref:>11.1f}x {rss / 1e6:>8.0f}MB {rss / size:>6.1f}x")
        print(f"state database after two scans: {os.path.getsize(db) / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
