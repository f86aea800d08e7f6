#!/usr/bin/env python3
"""Turns the raw files bench/dispatch.sh leaves in OUT_DIR into its tables and verdicts."""

import argparse
import csv
import glob
import json
import os
import re
import statistics
import subprocess
import sys

TARGET_RATE = 50_000   # jobs/s, whole command
TARGET_RATIO = 5.0     # batchproc / Python, same start method


def load_hyperfine(path):
    with open(path) as f:
        data = json.load(f)
    return {r["command"]: r for r in data["results"]}


def fmt_rate(x):
    return f"{x:,.0f}".replace(",", " ")


def throughput(out, jobs, workers):
    res = load_hyperfine(os.path.join(out, "dispatch.json"))
    print(f"## Throughput: {jobs} empty jobs, {workers} workers, whole command (start-up included)")
    print()
    print(f"{'runner':<22} {'median s':>9} {'min s':>7} {'max s':>7} {'jobs/s':>9}  {'vs Python, same method':>22}")
    rates = {}
    for name, r in res.items():
        rates[name] = jobs / r["median"]
    for name, r in res.items():
        ratio = ""
        if name.startswith("batchproc "):
            py = "python " + name.split(" ", 1)[1]
            if py in rates:
                ratio = f"{rates[name] / rates[py]:.1f}x"
        print(f"{name:<22} {r['median']:>9.3f} {r['min']:>7.3f} {r['max']:>7.3f} {fmt_rate(rates[name]):>9}  {ratio:>22}")
    print()
    bp = {k: v for k, v in rates.items() if k.startswith("batchproc ")}
    py = {k: v for k, v in rates.items() if k.startswith("python ")}
    verdicts = []
    if bp:
        best_bp = max(bp, key=bp.get)
        verdicts.append(f"target >= {fmt_rate(TARGET_RATE)} jobs/s: "
                        + ", ".join(f"{k.split()[1]} {fmt_rate(v)} {'MET' if v >= TARGET_RATE else 'NOT MET'}"
                                    for k, v in bp.items()))
    if bp and py:
        best_py = max(py, key=py.get)
        print(f"ratio, best against best: {best_bp} {fmt_rate(bp[best_bp])} jobs/s / {best_py} "
              f"{fmt_rate(py[best_py])} jobs/s = {bp[best_bp] / py[best_py]:.1f}x")
        pairs = [(k, v / py["python " + k.split()[1]]) for k, v in bp.items() if "python " + k.split()[1] in py]
        if pairs:
            verdicts.append(f"target >= {TARGET_RATIO:.0f}x Python (same start method): "
                            + ", ".join(f"{k.split()[1]} {x:.1f}x {'MET' if x >= TARGET_RATIO else 'NOT MET'}"
                                        for k, x in pairs))
    for v in verdicts:
        print(v)
    print()
    return res


def fixed_cost(out, jobs, main):
    path = os.path.join(out, "fixed.json")
    if not os.path.exists(path):
        return
    res = load_hyperfine(path)
    print("## Fixed cost: the same commands with 1 job, and bare start-up")
    print()
    print(f"{'runner':<22} {'1 job, s':>9}   {'marginal jobs/s':>15}  (= {jobs - 1} / (t[{jobs}] - t[1]))")
    for name, r in res.items():
        marginal = ""
        if name in main and main[name]["median"] > r["median"]:
            marginal = fmt_rate((jobs - 1) / (main[name]["median"] - r["median"]))
        print(f"{name:<22} {r['median']:>9.3f}   {marginal:>15}")
    print()


def inside(out, jobs):
    path = os.path.join(out, "inside.txt")
    if not os.path.exists(path):
        return
    rows = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3:
                try:
                    rows.setdefault(f"{parts[0]} {parts[1]}", []).append(float(parts[2]))
                except ValueError:
                    pass
    if not rows:
        return
    print("## The pools alone, as each times itself")
    print("   batchproc: its summary's wall time (pool start-up, jobs, shutdown; not process start-up,")
    print("   config, planning or exit); Python: ProcessPoolExecutor creation to the last result")
    print()
    for name, values in rows.items():
        med = statistics.median(values)
        print(f"{name:<22} {med:>9.3f} s  {fmt_rate(jobs / med):>9} jobs/s  ({len(values)} run(s))")
    print()


def read_perf(path):
    counters = {}
    with open(path) as f:
        for row in csv.reader(line for line in f if line.strip() and not line.startswith("#")):
            if len(row) >= 3:
                try:
                    counters[row[2]] = float(row[0])
                except ValueError:
                    pass
    return counters


def read_strace(path):
    calls = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            # % time, seconds, usecs/call, calls, [errors], syscall
            if len(parts) >= 5 and re.match(r"^[0-9.]+$", parts[0]) and parts[-1] != "total":
                try:
                    calls[parts[-1]] = int(parts[3])
                except ValueError:
                    pass
    return calls


def counters(out, jobs):
    path = os.path.join(out, "counters.txt")
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return
    print("## Per job, one run (all processes of the run counted)")
    print()
    with open(path) as f:
        entries = [line.split() for line in f if line.strip()]
    for kind, who, file in entries:
        if kind == "perf":
            c = read_perf(file)
            cpu_ms = c.get("task-clock", 0.0)
            cs = c.get("context-switches", 0.0)
            pf = c.get("page-faults", 0.0)
            print(f"{who:<10} CPU {cpu_ms:7.0f} ms in all = {1000 * cpu_ms / jobs:6.1f} us/job;"
                  f" context switches {cs / jobs:5.2f}/job; page faults {pf:,.0f}")
    for kind, who, file in entries:
        if kind == "strace":
            calls = read_strace(file)
            total = sum(calls.values())
            top = sorted(calls.items(), key=lambda kv: -kv[1])[:6]
            print(f"{who:<10} system calls {total / jobs:5.2f}/job: "
                  + ", ".join(f"{k} {v / jobs:.2f}" for k, v in top))
    print()


# (label, pattern, per job?): fixed costs are not divided by the number of jobs.
def phases(out, jobs):
    """Medians of the wall-time phases in the phases-METHOD-N.txt strace logs."""
    files = sorted(glob.glob(os.path.join(out, "phases-*.txt")))
    if not files:
        return
    by_method = {}
    for path in files:
        method = os.path.basename(path)[len("phases-"):].rsplit("-", 1)[0]
        try:
            with open(path) as f:
                lines = f.read().splitlines()
            root = lines[0].split()[0]
            t = lambda line: float(line.split()[1])
            t0 = t(lines[0])
            config = next(t(l) for l in lines if l.startswith(root) and "openat(" in l and f"dispatch-{jobs}.yaml" in l)
            pool = next(t(l) for l in lines if "memfd_create(" in l)
            workers = max(t(l) for l in lines if "exit_group(" in l and not l.startswith(root + " "))
            leave = next(t(l) for l in lines if l.startswith(root + " ") and "exit_group(" in l)
            end = next(t(l) for l in lines if l.startswith(root + " ") and "+++ exited" in l)
        except (IndexError, StopIteration, ValueError, OSError):
            continue
        by_method.setdefault(method, []).append(
            [config - t0, pool - config, workers - pool, leave - workers, end - leave, end - t0])
    if not by_method:
        return
    labels = ["exec -> config opened (dynamic linking, library constructors, CLI)", "config, plugins, plan",
              "pool: start workers, the jobs, workers exit", "last worker gone -> coordinator's exit_group",
              "process teardown", "total"]
    methods = list(by_method)
    print("## Wall-time phases of one run (strace timestamps; median of "
          f"{min(len(v) for v in by_method.values())}+ runs; strace adds a little)")
    print()
    print(f"{'phase':<70}" + "".join(f"{m:>12}" for m in methods))
    for i, label in enumerate(labels):
        print(f"{label:<70}" + "".join(f"{1000 * statistics.median(r[i] for r in by_method[m]):>9.0f} ms"
                                        for m in methods))
    print()


CALLGRIND_ROWS = [
    ("dynamic linking (dl_main: load + relocate)", r"rtld\.c:dl_main ", False),
    ("static constructors of the libraries (_dl_init)", r"dl-init\.c:_dl_init ", False),
    ("  of which gdcm::Global (DICOM dictionaries)", r":gdcm::Global::Global\(\)", False),
    ("  of which de265_init (HEIF via libheif)", r":de265_init ", False),
    ("main", r"\?\?\?:main ", False),
    ("prepare_run (config, plugins, plan)", r"batchproc::prepare_run\(", True),
    ("  of which plan_jobs", r"batchproc::plan_jobs\(", True),
    ("ProcessExecutor::execute (coordinator)", r"batchproc::ProcessExecutor::execute\(", True),
    ("  of which handle_answer", r"Coordinator::handle_answer\(", True),
    ("  of which dispatch", r"Coordinator::dispatch\(\)", True),
]
WORKER_ROWS = [
    ("run_worker (one worker's whole loop)", r"batchproc::run_worker\("),
    ("  JobRunner::run", r"batchproc::JobRunner::run\("),
    ("  StageInstance::process (the plugin call)", r"batchproc::StageInstance::process"),
    ("  ResultBuffer::store", r"batchproc::ResultBuffer::store\("),
]


def annotate(path):
    try:
        text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", path],
                              capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None, {}
    total = None
    rows = []
    for line in text.splitlines():
        m = re.match(r"^\s*([\d,]+)\s+\([\s\d.]+%\)\s+(.*)$", line)
        if not m:
            continue
        n = int(m.group(1).replace(",", ""))
        if "PROGRAM TOTALS" in m.group(2):
            total = n
        rows.append((n, m.group(2)))
    return total, rows


def pick(rows, pattern):
    for n, name in rows:
        if re.search(pattern, name):
            return n
    return None


def callgrind(out, jobs, workers):
    files = sorted(glob.glob(os.path.join(out, "callgrind.out.*")), key=lambda p: int(p.rsplit(".", 1)[1]))
    if not files:
        return
    parsed = [(p, *annotate(p)) for p in files]
    parsed = [x for x in parsed if x[1]]
    if not parsed:
        return
    coordinator = [x for x in parsed if pick(x[2], r"batchproc::run_worker\(") is None]
    worker_files = [x for x in parsed if pick(x[2], r"batchproc::run_worker\(") is not None]
    print("## Instructions by function (callgrind, fork start method; Ir = instructions executed)")
    print()
    if coordinator:
        _, total, rows = coordinator[0]
        print(f"coordinator process: {total:,} Ir in all")
        for label, pat, per_job in CALLGRIND_ROWS:
            n = pick(rows, pat)
            if n is not None:
                each = f"{n / jobs:8.0f} Ir/job" if per_job else ""
                print(f"  {label:<50} {n:>13,} Ir  {100 * n / total:5.1f}%  {each}")
    for path, total, rows in worker_files[:1]:
        per_worker = jobs / max(1, len(worker_files))
        print(f"one worker ({os.path.basename(path)}; about {per_worker:.0f} jobs):")
        for label, pat in WORKER_ROWS:
            n = pick(rows, pat)
            if n is not None:
                print(f"  {label:<50} {n:>13,} Ir  {n / per_worker:8.0f} Ir/job")
    print()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--jobs", type=int, required=True)
    ap.add_argument("--workers", type=int, required=True)
    a = ap.parse_args()
    print()
    main_res = throughput(a.out, a.jobs, a.workers)
    fixed_cost(a.out, a.jobs, main_res)
    inside(a.out, a.jobs)
    counters(a.out, a.jobs)
    phases(a.out, a.jobs)
    callgrind(a.out, a.jobs, a.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
