#!/usr/bin/env python3
"""Turns the raw files bench/compare_peers.sh leaves in WORK_DIR into its tables and verdicts."""

import argparse
import json
import os
import re
import sys

TIME_TARGET = 0.9                       # batchproc time <= 0.9 x the fastest peer's
DECODED_LARGE = 4896 * 3264 * 3         # bytes of one decoded large image (BGR, 8 bit)
MEMORY_TARGET = 2 * DECODED_LARGE       # per worker, large corpus
# Issue 11: batchproc's time against the hand-written loop with reduced JPEG decode, per
# corpus, and the peak RSS of one worker on the large corpus.
CEILING = "cv-tbb-reduced"
CEILING_TARGET = {"mixed": 0.9, "small": 1.0, "large": 1.0}
WORKER_TARGET_BYTES = 30e6

NOTES = {
    "batchproc": "processes, forkserver; decode as configured by default; no fsync, no journal",
    "batchproc-durable": "batchproc's defaults: fsync of each output and its folder, run journal",
    "batchproc-noshrink": "input.shrink_on_load: false",
    "py-cv2": "ProcessPoolExecutor + cv2; full decode",
    "vipsthumbnail": "NO blur; shrink-on-load; -X: 2 processes for all files",
    "vips-thumbnail-blur": "shrink-on-load; vipsthumbnail to .v, then 1 vips gaussblur process per file",
    "imagemagick": "full decode, 16-bit (Q16), one convert per file",
    "cv-tbb": "OpenCV + oneTBB, 2 threads, 1 process; full decode",
    "cv-tbb-reduced": "same with IMREAD_REDUCED_COLOR_2/4/8 (shrink-on-load)",
}
PARTIAL_WORK = {"vipsthumbnail"}  # does not do the whole workload (no blur)


def mb(kb):
    return f"{kb * 1024 / 1e6:.0f}" if kb is not None else "-"


def gnu_time(path):
    out = {}
    try:
        with open(path) as f:
            for line in f:
                m = re.match(r"\s*Maximum resident set size \(kbytes\): (\d+)", line)
                if m:
                    out["maxrss_kb"] = int(m.group(1))
                m = re.match(r"\s*Exit status: (\d+)", line)
                if m:
                    out["exit"] = int(m.group(1))
    except OSError:
        pass
    return out


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def outputs(work):
    rows = {}
    try:
        with open(os.path.join(work, "results", "outputs.txt")) as f:
            for line in f:
                p = line.split()
                if len(p) == 4:
                    rows[(p[0], p[1])] = (int(p[2]), p[3])
    except OSError:
        pass
    return rows


def corpus_size(work, corpus):
    try:
        with open(os.path.join(work, "run", f"{corpus}.list")) as f:
            return sum(1 for line in f if line.strip())
    except OSError:
        return 0


def roles(procs):
    """batchproc's processes by role: the coordinator (the batchproc whose parent is not one),
    the fork server (a batchproc below it with batchproc children), the workers (the rest)."""
    bp = {p["pid"]: p for p in procs if p.get("name") == "batchproc"}
    has_kids = {p.get("ppid") for p in bp.values()}
    out = {"coordinator": [], "forkserver": [], "worker": []}
    for p in bp.values():
        if p.get("ppid") not in bp:
            out["coordinator"].append(p)
        elif p["pid"] in has_kids:
            out["forkserver"].append(p)
        else:
            out["worker"].append(p)
    return out


def memory_roles(work, corpus):
    mem = load_json(os.path.join(work, "mem", f"batchproc-{corpus}.json"))
    if not mem:
        return
    by_role = roles(mem.get("processes", []))
    if not by_role["worker"] or any("ppid" not in p for p in mem.get("processes", [])):
        return
    gt = gnu_time(os.path.join(work, "mem", f"batchproc-{corpus}.time"))
    print("batchproc's processes, peak RSS (VmHWM) / peak PSS in MB (bench/peak_rss.py, read every 50 ms):")
    for role in ("coordinator", "forkserver", "worker"):
        for p in sorted(by_role[role], key=lambda p: -p["hwm_kb"]):
            print(f"  {role:<12} pid {p['pid']:<8} {mb(p['hwm_kb']):>4} / {mb(p['max_pss_kb']):>4}")
    worker = max(by_role["worker"], key=lambda p: p["hwm_kb"])
    everyone = [p for ps in by_role.values() for p in ps]
    role = None
    if gt.get("maxrss_kb"):
        # GNU time's maximum RSS is exact but anonymous: name the process whose VmHWM it matches.
        closest = min(everyone, key=lambda p: abs(p["hwm_kb"] - gt["maxrss_kb"]))
        role = next(r for r, ps in by_role.items() if closest in ps)
        print(f"  GNU time's maximum RSS (the largest single process, exact): {mb(gt['maxrss_kb'])} MB, "
              f"matching the {role} pid {closest['pid']} ({mb(closest['hwm_kb'])} MB)")
    peak_kb = worker["hwm_kb"]
    if role == "worker":
        peak_kb = max(peak_kb, gt["maxrss_kb"])
    if corpus == "large":
        verdict = "MET" if peak_kb * 1024 <= WORKER_TARGET_BYTES else "NOT MET"
        print(f"issue 11: one worker's peak RSS <= {WORKER_TARGET_BYTES / 1e6:.0f} MB on the large corpus: "
              f"{mb(peak_kb)} MB ({peak_kb / 1024:.1f} MiB; PSS at most {mb(worker['max_pss_kb'])} MB) -> {verdict}")
        verdict = "MET" if peak_kb * 1024 <= MEMORY_TARGET else "NOT MET"
        print(f"target per-worker peak <= 2 decoded images = {MEMORY_TARGET / 1e6:.1f} MB: {mb(peak_kb)} MB -> {verdict}")


def report(work, corpus, outs):
    res = load_json(os.path.join(work, "results", f"{corpus}.json"))
    if not res:
        print(f"(no timing results for the {corpus} corpus)")
        return
    n = corpus_size(work, corpus)
    results = {r["command"]: r for r in res["results"]}
    base = results.get("batchproc")
    print(f"## {corpus} corpus: {n} files; median of {len(next(iter(results.values()))['times'])} runs")
    print()
    print(f"{'runner':<20} {'median s':>8} {'min s':>6} {'max s':>6} {'files/s':>7} {'x batchproc':>11}"
          f" {'tree PSS MB':>11} {'tree RSS MB':>11} {'largest MB':>10} {'outputs':>9}  notes")
    for name, r in results.items():
        ratio = f"{r['median'] / base['median']:.2f}" if base else "-"
        mem = load_json(os.path.join(work, "mem", f"{name}-{corpus}.json")) or {}
        gt = gnu_time(os.path.join(work, "mem", f"{name}-{corpus}.time"))
        count, dims = outs.get((name, corpus), (None, "-"))
        out_txt = f"{count if count is not None else '-'} {dims}"
        bad = count is not None and count != n
        print(f"{name:<20} {r['median']:>8.2f} {r['min']:>6.2f} {r['max']:>6.2f} {n / r['median']:>7.1f} {ratio:>11}"
              f" {mb(mem.get('peak_pss_sum_kb')):>11} {mb(mem.get('peak_rss_sum_kb')):>11}"
              f" {mb(gt.get('maxrss_kb')):>10} {out_txt:>9}{' !' if bad else ''}  {NOTES.get(name, '')}")
    print()
    print("x batchproc = runner's median time / batchproc's (above 1: slower than batchproc).")
    print("tree PSS/RSS = peak of the sum over the whole process tree (bench/peak_rss.py, 50 ms samples);")
    print("largest = GNU time's Maximum resident set size: the largest single process (MB = 10^6 bytes).")
    if base:
        peers = {k: v for k, v in results.items() if not k.startswith("batchproc")}
        full = {k: v for k, v in peers.items() if k not in PARTIAL_WORK}
        for label, group in (("the fastest peer doing the whole workload", full), ("the fastest peer of all", peers)):
            if not group:
                continue
            fastest = min(group, key=lambda k: group[k]["median"])
            share = base["median"] / group[fastest]["median"]
            verdict = "MET" if share <= TIME_TARGET else "NOT MET"
            print(f"target batchproc <= {TIME_TARGET}x {label} ({fastest}, {group[fastest]['median']:.2f} s): "
                  f"batchproc {base['median']:.2f} s = {share:.2f}x -> {verdict}")
        if CEILING in results and corpus in CEILING_TARGET:
            share = base["median"] / results[CEILING]["median"]
            target = CEILING_TARGET[corpus]
            print(f"issue 11: batchproc <= {target}x {CEILING} on the {corpus} corpus: {base['median']:.2f} / "
                  f"{results[CEILING]['median']:.2f} s = {share:.2f}x -> {'MET' if share <= target else 'NOT MET'}")
        if "batchproc-noshrink" in results:
            print(f"batchproc-noshrink / batchproc = {results['batchproc-noshrink']['median'] / base['median']:.2f}")
    memory_roles(work, corpus)
    print()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--corpora", default="small large")
    a = ap.parse_args()
    outs = outputs(a.work)
    print()
    for corpus in a.corpora.split():
        report(a.work, corpus, outs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
