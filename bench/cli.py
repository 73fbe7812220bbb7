"""The whole `defender-prereqs scan` on one snapshot file, as a user runs it, against references
measured in the same run: the time Python's `json.load` takes to merely read the file, and the
file's size. Prints each command's wall time, peak RSS, and the ratios.

    python3 bench/cli.py BINARY SNAPSHOT [RUNS]
    python3 bench/cli.py --curve BINARY SNAPSHOT_OR_BUCKET...

The first form ends with issue 25's four figures. The second runs `scan --no-store --format json`
and a first `scan --db` once on each snapshot file or synced Config bucket (a directory; e.g.
organizations of 10, 100 and 1,000 accounts) and prints peak RSS against the input's size and
against its largest account's items.
"""

import mmap
import os
import re
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
    # In a child: a child's peak RSS (wait4) starts from its parent's at the fork, so this
    # process must never hold a parsed file itself.
    code = (
        "import json, sys, time\n"
        "t = time.perf_counter()\n"
        "json.load(open(sys.argv[1], 'rb'))\n"
        "print(time.perf_counter() - t)\n"
    )
    return float(subprocess.check_output([sys.executable, "-c", code, path]))


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
        measured = {}
        for name, args in cases:
            times, peaks = [], []
            for _ in range(runs):
                # A first scan each time: into a database created for the run (the last one is
                # the one scanned again).
                if name.startswith("scan --db (first"):
                    for stale in (db, db + "-wal", db + "-shm"):
                        if os.path.exists(stale):
                            os.remove(stale)
                t, rss = run([binary, "scan", snapshot, "--color", "never", *args])
                times.append(t)
                peaks.append(rss)
            t, rss = statistics.median(times), max(peaks)
            measured[name] = (t, rss)
            print(f"{name:<44} {t:>7.2f}s {t / ref:>11.1f}x {rss / 1e6:>8.0f}MB {rss / size:>6.1f}x")
        db_size = os.path.getsize(db)
        print(f"state database after two scans: {db_size / 1e6:.0f} MB")
    json_t, _ = measured["scan --no-store --format json"]
    text_t, _ = measured["scan --no-store (text summary)"]
    first_t, _ = measured["scan --db (first: every item written)"]
    peak = max(rss for name, (_, rss) in measured.items() if "--no-store" in name)
    print("\nissue 25's figures (goal in brackets):")
    print(f"  scan, JSON out / json.load          {json_t / ref:5.2f}  (<= 0.20)")
    print(f"  peak RSS without store / file size  {peak / size:5.2f}  (<= 1.5)")
    print(f"  first scan with store / without     {first_t / text_t:5.2f}  (<= 1.5)")
    print(f"  database after two scans / file     {db_size / size:5.2f}  (<= 1.0)")


def largest_account_bytes(path):
    """Bytes of the largest account's items: from each `awsAccountId` to the next, counted for
    the first one's account (items of one account need not be contiguous)."""
    per = {}
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        last, last_at = None, 0
        for hit in re.finditer(rb'"awsAccountId":\s*"(\d{12})"', m):
            if last is not None:
                per[last] = per.get(last, 0) + hit.start() - last_at
            last, last_at = hit.group(1), hit.start()
        if last is not None:
            per[last] = per.get(last, 0) + len(m) - last_at
    return len(per), max(per.values(), default=0)


def bucket_bytes(path):
    """A synced Config bucket's bytes, and its number of accounts and largest account's bytes
    (the account is in each delivery file's name)."""
    per = {}
    for folder, _, files in os.walk(path):
        for name in files:
            account = name.split("_", 1)[0]
            per[account] = per.get(account, 0) + os.path.getsize(os.path.join(folder, name))
    return sum(per.values()), len(per), max(per.values(), default=0)


def curve(binary, snapshots):
    print(f"{'input':<28} {'size':>8} {'accounts':>8} {'largest':>8} {'command':<28} {'time':>7} {'peak RSS':>9} {'x input':>7} {'x largest':>9}")
    runs = []
    for snapshot in snapshots:
        rows = []
        with tempfile.TemporaryDirectory() as d:
            for name, args in [
                ("--no-store --format json", ["--no-store", "--format", "json"]),
                ("--db (first)", ["--db", os.path.join(d, "state.db")]),
            ]:
                rows.append((name, *run([binary, "scan", snapshot, "--color", "never", *args])))
        runs.append((snapshot, rows))
    # After every run: reading an input here raises this process's peak RSS, which every child
    # forked after it inherits as its own starting peak (Linux keeps the larger at fork and exec).
    for snapshot, rows in runs:
        if os.path.isdir(snapshot):
            size, accounts, largest = bucket_bytes(snapshot)
        else:
            size = os.path.getsize(snapshot)
            accounts, largest = largest_account_bytes(snapshot)
        for name, t, rss in rows:
            print(
                f"{os.path.basename(snapshot):<28} {size / 1e6:>6.0f}MB {accounts:>8} {largest / 1e6:>6.1f}MB "
                f"{name:<28} {t:>6.1f}s {rss / 1e6:>7.0f}MB {rss / size:>6.2f}x {rss / largest:>8.1f}x"
            )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--curve"]:
        curve(sys.argv[2], sys.argv[3:])
    else:
        main()
