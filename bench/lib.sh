# Helpers shared by the bench/*.sh scripts. Source it; do not run it.
# shellcheck shell=bash

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$BENCH_DIR/.." && pwd)"

die() {
    echo "$(basename "$0"): $*" >&2
    exit 2
}

note() { echo "== $*" >&2; }

# time_medians FILE...: the files GNU time wrote with -f "%e %M" (one run each); prints the
# median wall time in seconds and the median maximum RSS in MiB: "0.25 75".
time_medians() {
    local wall rss
    wall=$(awk '{print $1}' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    rss=$(awk '{print $2}' "$@" | sort -g | awk '{a[NR]=$1} END {printf "%.0f", a[int((NR+1)/2)]/1024}')
    echo "$wall $rss"
}

# The Python of Debian's python3 package (python3-opencv installs into it), not whatever
# python3 comes first on PATH (a pyenv shim, for one, adds ~100 ms of shell to every start).
debian_python() {
    if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"
    elif [ -x /usr/bin/python3 ]; then echo /usr/bin/python3
    else command -v python3
    fi
}

# ensure_packages PKG...: installs the Debian packages that are missing (apt-get, as root,
# --no-install-recommends); does nothing when all are installed.
ensure_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        die "missing Debian packages: ${missing[*]} (run as root, or: apt-get install ${missing[*]})"
    fi
    note "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # A fresh machine may have no package lists yet: update only if the install fails.
    if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
        apt-get update -qq >/dev/null
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
            die "apt-get install ${missing[*]} failed"
    fi
}

# resolve_build_dir [DIR]: prints the absolute build folder (default: build, relative to the
# current folder if it exists there, else to the repository root) and checks the binary.
resolve_build_dir() {
    local dir="${1:-build}" abs
    if [ -d "$dir" ]; then
        abs="$(cd "$dir" && pwd)"
    elif [ -d "$REPO_ROOT/$dir" ]; then
        abs="$(cd "$REPO_ROOT/$dir" && pwd)"
    else
        abs="$dir"
    fi
    if [ ! -x "$abs/bin/batchproc" ]; then
        echo "$(basename "$0"): no batchproc binary at $abs/bin/batchproc." >&2
        echo "Build it first (Release), e.g.:  bash scripts/build.sh" >&2
        echo "  or: cmake -S . -B $dir -DCMAKE_BUILD_TYPE=Release && cmake --build $dir -j\$(nproc)" >&2
        exit 2
    fi
    local type
    type="$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$abs/CMakeCache.txt" 2>/dev/null || true)"
    if [ -n "$type" ] && [ "$type" != "Release" ] && [ "$type" != "RelWithDebInfo" ]; then
        echo "$(basename "$0"): warning: $abs is a '$type' build; figures are only meaningful for Release" >&2
    fi
    echo "$abs"
}

# machine_line: one line describing the machine and its load, for the record.
machine_line() {
    local cpu
    cpu="$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
    # env -u: GNU nproc reports OMP_NUM_THREADS instead of the cores when it is set.
    echo "machine: $(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc) cores available ($cpu), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M UTC')"
}
