#!/usr/bin/env bash
# Fresh Debian 12 machine, as root: install dependencies, build, and make thumbnails of the
# bundled sample photos with configs/images.yaml (outputs and report in out/thumbnails/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh --app   # the binary and the bundled plugins; the tests build with scripts/test.sh
./build/bin/batchproc configs/images.yaml
