#!/usr/bin/env bash
# What each shared library of a program costs to load: a tiny C program dlopens the
# libraries `ldd` lists for the program, in reverse order (the leaves of the dependency tree
# first, so that each dlopen mostly pays for its own library), timing each; ROUNDS runs of
# it, the median per library. The C++ runtime (libstdc++, libgcc_s, libm, libc) goes first:
# otherwise the first C++ library in the order (libLerc, for one) is charged with loading
# libstdc++ (about 0.9 ms). Then the same for each codec module of the build (dlopened
# by batchproc only when a run needs it), over what the binary has loaded already.
#
#   bash bench/dlopen_times.sh [BUILD_DIR] [MODULE.so...]    (default BUILD_DIR: build)
#
# Environment: ROUNDS=50 WORK_DIR=/tmp/bp-dlopen PYTHON=/usr/bin/python3
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

BUILD="$(resolve_build_dir "${1:-build}")"
shift || true
BP="$BUILD/bin/batchproc"
ROUNDS="${ROUNDS:-50}"
WORK="${WORK_DIR:-/tmp/bp-dlopen}"
PY="$(debian_python)"
mkdir -p "$WORK"

cat >"$WORK/dlopen_times.c" <<'EOF'
/* dlopen_times LIB...: dlopens each LIB in turn (RTLD_NOW | RTLD_GLOBAL), printing
   "<ms> <LIB>" for each; a library already loaded costs next to nothing. One that cannot
   be opened alone (a few libraries do not list all they use) prints -1. */
#include <dlfcn.h>
#include <stdio.h>
#include <time.h>

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; ++i) {
        const double start = now_ms();
        const int ok = dlopen(argv[i], RTLD_NOW | RTLD_GLOBAL) != NULL;
        printf("%.4f %s\n", ok ? now_ms() - start : -1.0, argv[i]);
    }
    return 0;
}
EOF
gcc -O2 -o "$WORK/dlopen_times" "$WORK/dlopen_times.c" -ldl

# libraries LIB: the paths ldd resolves for LIB, in ldd's order (the vdso has no file).
libraries() { ldd "$1" | sed -n 's/.*=> \(\/[^ ]*\) (0x.*/\1/p'; }

RUNTIME_RE='/(libc|libm|libgcc_s|libstdc\+\+)\.so'
mapfile -t LIBS < <(libraries "$BP" | grep -E "$RUNTIME_RE" | tac; libraries "$BP" | grep -Ev "$RUNTIME_RE" | tac)
MODULES=("$@")
if [ ${#MODULES[@]} -eq 0 ]; then
    mapfile -t MODULES < <(ls "$BUILD"/lib/batchproc/codecs/*.so 2>/dev/null || true)
fi

machine_line
echo "binary: $BP ($(ldd "$BP" | wc -l) lines of ldd, ${#LIBS[@]} libraries dlopened); $ROUNDS rounds, median ms"
: >"$WORK/times.txt"
for ((r = 0; r < ROUNDS; r++)); do
    "$WORK/dlopen_times" "${LIBS[@]}" | sed "s/^/binary /" >>"$WORK/times.txt"
    for m in "${MODULES[@]}"; do
        # The module over the binary's own libraries: what its first use adds to a run.
        "$WORK/dlopen_times" "${LIBS[@]}" "$m" | tail -n 1 | sed "s/^/module /" >>"$WORK/times.txt"
        # Its libraries one by one (those the binary lacks), leaves first.
        mapfile -t OWN < <(comm -23 <(libraries "$m" | sort) <(printf '%s\n' "${LIBS[@]}" | sort))
        if [ ${#OWN[@]} -gt 0 ]; then
            mapfile -t OWN < <(libraries "$m" | grep -Fx -f <(printf '%s\n' "${OWN[@]}") | tac)
            "$WORK/dlopen_times" "${LIBS[@]}" "${OWN[@]}" | tail -n "${#OWN[@]}" |
                sed "s|^|in:$(basename "$m") |" >>"$WORK/times.txt"
        fi
    done
done

"$PY" - "$WORK/times.txt" <<'PYEOF'
import collections, os, statistics, sys

times = collections.OrderedDict()
for line in open(sys.argv[1]):
    group, ms, lib = line.split()
    if float(ms) >= 0:
        times.setdefault((group, lib), []).append(float(ms))
binary = [(lib, statistics.median(v)) for (g, lib), v in times.items() if g == "binary"]
print()
print("| library (the binary's ldd: C++ runtime first, then leaves first) | median ms |")
print("| --- | ---: |")
for lib, ms in sorted(binary, key=lambda x: -x[1]):
    print(f"| {os.path.basename(lib)} | {ms:.3f} |")
print(f"| **all {len(binary)}** | **{sum(ms for _, ms in binary):.2f}** |")
modules = [(lib, statistics.median(v)) for (g, lib), v in times.items() if g == "module"]
if modules:
    print()
    print("| module, dlopened over the binary's libraries (its first use) | median ms | libraries it adds, median ms each |")
    print("| --- | ---: | --- |")
    for lib, ms in modules:
        name = os.path.basename(lib)
        own = [(os.path.basename(l), statistics.median(v)) for (g, l), v in times.items() if g == "in:" + name]
        own.sort(key=lambda x: -x[1])
        detail = ", ".join(f"{n} {m:.2f}" for n, m in own[:8]) or "-"
        if len(own) > 8:
            detail += f" and {len(own) - 8} more ({sum(m for _, m in own[8:]):.2f} together)"
        print(f"| {name} | {ms:.2f} | {len(own)}: {detail} |")
PYEOF
