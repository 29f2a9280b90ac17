#!/usr/bin/env bash
# Set up .venv with a Python >= 3.12 found on this machine, and install the package with its
# test tools. Re-running is cheap: it reinstalls only when pyproject.toml has changed.
# Override the interpreter with SMB_SIM_PYTHON=/path/to/python3.12, the venv with SMB_SIM_VENV.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${SMB_SIM_VENV:-$root/.venv}"

suitable() {  # prints the interpreter if it runs and is Python >= 3.12
  "$1" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1 \
    && command -v "$1"
}

find_python() {
  local c
  for c in "${SMB_SIM_PYTHON:-}" python3.13 python3.12 python3 python; do
    [ -n "$c" ] && suitable "$c" && return 0
  done
  local roots=()
  command -v pyenv >/dev/null 2>&1 && roots+=("$(pyenv root)/versions")
  roots+=("$HOME/.pyenv/versions" /root/.pyenv/versions /opt/python /usr/local/bin /usr/bin)
  for r in "${roots[@]}"; do
    for c in $(ls -d "$r"/3.1[2-9]*/bin/python3 "$r"/python3.1[2-9] 2>/dev/null | sort -rV); do
      suitable "$c" && return 0
    done
  done
  return 1
}

if [ ! -x "$venv/bin/python" ] || ! suitable "$venv/bin/python" >/dev/null; then
  python="$(find_python)" || {
    echo "error: no Python >= 3.12 found. Install one (e.g. 'pyenv install 3.12') or set SMB_SIM_PYTHON." >&2
    exit 2
  }
  echo "setting up $venv with $python ($("$python" --version 2>&1))" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv"
fi

stamp="$venv/.smb-sim-installed"
want="$(cat "$root/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "installing smb-sim and its dependencies into $venv ..." >&2
  pip_quiet() {  # pip, without the noise of index locations this machine does not have
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@" 2>&1 \
      | { grep -v -e "^WARNING: Location" || true; } >&2
  }
  pip_quiet --upgrade pip
  # setuptools tells every editable install of a package outside src/ that it is one, as a
  # warning ("Editable installation ... folders in your working directory with the same name
  # as your package", its `InformationOnly` category), which pip shows: that one message alone
  # is left out (the build's own warnings still show).
  PYTHONWARNINGS="ignore:Editable installation.:UserWarning" pip_quiet -e "$root[test]"
  # matplotlib's font list is built on its first import (seconds on a machine with many
  # fonts): built now, not when a class is waiting for the app's first page
  "$venv/bin/python" -c "import matplotlib.font_manager" >/dev/null 2>&1 || true
  echo "$want" > "$stamp"
fi
# Compiled once here: where PYTHONDONTWRITEBYTECODE is set, every command would otherwise
# compile the package's modules again (the classroom app starts about 0.1 s sooner).
"$venv/bin/python" -m compileall -q "$root/sim" >/dev/null
echo "$venv/bin/python"
