#!/usr/bin/env bash
# Installs the Debian 12 packages batchproc needs to build and test. Run as root.
# Skips apt entirely when everything is already installed.
#   bash scripts/install-deps.sh          build and test
#   bash scripts/install-deps.sh --fuzz   the same, plus clang, libFuzzer and llvm-symbolizer
#                                         for the fuzzers (scripts/fuzz.sh)
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libopencv-dev libtbb-dev libyaml-cpp-dev libjpeg-dev
  libcli11-dev libspdlog-dev nlohmann-json3-dev
  libsqlite3-dev libsqlitecpp-dev libxxhash-dev liblcms2-dev libexiv2-dev
  libpng-dev libspng-dev libwebp-dev libtiff-dev libheif-dev
  libfreetype-dev fonts-dejavu-core
  liblcms2-utils icc-profiles-free
  libgtest-dev googletest libbenchmark-dev
  libcereal-dev
  slurm-wlm
  python3
)
case "${1:-}" in
  "") ;;
  --fuzz) packages+=(clang libclang-rt-14-dev llvm-14) ;;
  *) echo "usage: bash scripts/install-deps.sh [--fuzz]" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]} (run as root, or install them)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
