#!/usr/bin/env python3
"""Peak memory of a whole process tree: runs a command and samples every process under it.

    python3 bench/peak_rss.py [--interval 0.05] [--json FILE] [--no-pss] -- COMMAND [ARGS...]

Why: a pool's memory is spread over several processes. GNU time's "Maximum resident set
size" (getrusage RUSAGE_CHILDREN) is the peak of the single largest process that was waited
for, never a sum, so it says nothing about a pool of N workers together.

How: every INTERVAL seconds the tree under COMMAND (found through the parent pid in
/proc/*/stat; this script makes itself a child subreaper, so orphans stay in the tree) is
walked, and for each process
  - VmRSS and VmHWM from /proc/PID/status: resident pages now, and the kernel's own exact
    peak of that process (VmHWM is not sampled: it is kept by the kernel, we only read it);
  - Pss from /proc/PID/smaps_rollup: the process's proportional share of its pages (pages
    shared with other processes - libraries, copy-on-write pages after fork - divided by the
    number of processes that share them), unless --no-pss.
The peaks of the per-sample sums are reported: sum of RSS (counts shared pages once per
process, an upper bound) and sum of PSS (counts every page once: the tree's real footprint).
A peak that lasts less than INTERVAL between two samples can be missed by the sums, and a
process's VmHWM misses what it reached in its last INTERVAL before exiting (GNU time's
maximum RSS, the largest single process, is exact). Each process is listed with its parent's
pid (ppid), so that a pool's roles (coordinator, fork server, workers) can be told apart.

The exit status is COMMAND's. The summary goes to stderr and, with --json, to FILE.
"""

import argparse
import ctypes
import json
import os
import resource
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def children_map():
    """{parent pid: [child pids]} of every process on the machine."""
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses.
        rest = data[data.rfind(b")") + 2:].split()
        if len(rest) < 2:
            continue
        kids.setdefault(int(rest[1]), []).append(int(name))
    return kids


def tree(root, kids):
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def status_kb(pid, keys):
    found = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k = line.split(":", 1)[0]
                if k in keys:
                    found[k] = int(line.split()[1])
                elif k == "Name":
                    found["Name"] = line.split(None, 1)[1].strip() if len(line.split()) > 1 else "?"
    except (OSError, ValueError):
        return None
    return found


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()[:200]
    except OSError:
        return ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--interval", type=float, default=0.05)
    ap.add_argument("--json")
    ap.add_argument("--no-pss", action="store_true")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not cmd:
        ap.error("no command given")

    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass

    start = time.monotonic()
    child = subprocess.Popen(cmd)
    procs = {}  # pid -> {name, cmd, hwm_kb, max_rss_kb, max_pss_kb}
    peak_rss_sum = peak_pss_sum = 0
    peak_rss_at = peak_pss_at = 0.0
    samples = 0
    max_procs = 0
    rc = None
    while True:
        if rc is None:
            rc = child.poll()
        kids = children_map()
        parents = {c: parent for parent, cs in kids.items() for c in cs}
        pids = tree(os.getpid(), kids)
        pids = [p for p in pids if p != os.getpid()]
        if rc is not None and not pids:
            break
        rss_sum = pss_sum = 0
        live = 0
        for pid in pids:
            st = status_kb(pid, ("VmRSS", "VmHWM"))
            if not st or "VmRSS" not in st:
                continue  # a zombie or a kernel-less entry
            live += 1
            p = procs.get(pid)
            if p is None:
                p = procs[pid] = {"pid": pid, "ppid": parents.get(pid), "name": st.get("Name", "?"),
                                  "cmd": cmdline(pid), "hwm_kb": 0, "max_rss_kb": 0, "max_pss_kb": 0}
            p["name"] = st.get("Name", p["name"])
            p["hwm_kb"] = max(p["hwm_kb"], st.get("VmHWM", 0))
            p["max_rss_kb"] = max(p["max_rss_kb"], st["VmRSS"])
            rss_sum += st["VmRSS"]
            if not a.no_pss:
                pss = pss_kb(pid)
                if pss is not None:
                    p["max_pss_kb"] = max(p["max_pss_kb"], pss)
                    pss_sum += pss
        samples += 1
        max_procs = max(max_procs, live)
        now = time.monotonic() - start
        if rss_sum > peak_rss_sum:
            peak_rss_sum, peak_rss_at = rss_sum, now
        if pss_sum > peak_pss_sum:
            peak_pss_sum, peak_pss_at = pss_sum, now
        # Reap whatever ended: the command (through Popen, which keeps its status) and
        # orphans handed to us as subreaper.
        while True:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                break
            if info is None:
                break
            if info.si_pid == child.pid:
                rc = child.wait()
            else:
                try:
                    os.waitpid(info.si_pid, 0)
                except ChildProcessError:
                    pass
        time.sleep(a.interval)
    wall = time.monotonic() - start
    code = child.wait() if rc is None else rc

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    largest = max(procs.values(), key=lambda p: p["hwm_kb"], default=None)
    summary = {
        "command": cmd,
        "exit_code": code,
        "wall_s": round(wall, 3),
        "interval_s": a.interval,
        "samples": samples,
        "processes_seen": len(procs),
        "max_live_processes": max_procs,
        "peak_rss_sum_kb": peak_rss_sum,
        "peak_rss_sum_at_s": round(peak_rss_at, 3),
        "peak_pss_sum_kb": None if a.no_pss else peak_pss_sum,
        "peak_pss_sum_at_s": None if a.no_pss else round(peak_pss_at, 3),
        "largest_process": largest,
        "rusage_children_maxrss_kb": ru.ru_maxrss,
        "processes": sorted(procs.values(), key=lambda p: -p["hwm_kb"])[:64],
    }
    if a.json:
        with open(a.json, "w") as f:
            json.dump(summary, f, indent=1)
    if not a.quiet:
        mb = lambda kb: f"{kb / 1024:.0f} MiB" if kb is not None else "-"
        print(f"peak_rss: {len(procs)} process(es), {samples} samples; peak sum RSS {mb(peak_rss_sum)}, "
              f"peak sum PSS {mb(summary['peak_pss_sum_kb'])}; largest process "
              f"{largest['name'] if largest else '-'} VmHWM {mb(largest['hwm_kb'] if largest else 0)}",
              file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
