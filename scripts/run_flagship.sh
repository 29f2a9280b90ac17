#!/usr/bin/env bash
# The main job: set up (if needed), then run both flagship scenarios with their default seeds.
# Extra arguments are passed to `python -m sim run` (e.g. --seeds 10).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="$("$root/scripts/setup.sh")"
cd "$root"
for scenario in bakery_gluten_free boutique_online; do
  "$python" -m sim run "$scenario" "$@"
done
echo
echo "Results are under $root/results/ (one folder per scenario, one per run, newest last)."
