#!/usr/bin/env bash
# The tests: set up (if needed), lint, then run the whole suite. Extra arguments go to pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="$("$root/scripts/setup.sh")"
cd "$root"
"$python" -m ruff check sim tests benchmarks notebooks
"$python" -m pytest "$@"
