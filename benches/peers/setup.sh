#!/usr/bin/env bash
# Create one virtualenv per benchmark peer: every folder benches/peers/<peer>/
# holding a requirements.txt gets benches/peers/<peer>/.venv with exactly those
# pinned packages. Idempotent: a venv is (re)installed only when it is missing
# or its requirements.txt changed since the last successful install.
#
#   bash benches/peers/setup.sh            # all peers
#   bash benches/peers/setup.sh operonx-0.7.1   # just the named ones
#
# PYTHON picks the base interpreter (default: python3). The .venv folders are
# gitignored.
set -euo pipefail

PYTHON="${PYTHON:-python3}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [ "$#" -gt 0 ]; then
    peers=("$@")
else
    peers=()
    for req in "$here"/*/requirements.txt; do
        [ -e "$req" ] || continue
        peers+=("$(basename "$(dirname "$req")")")
    done
fi

for peer in "${peers[@]}"; do
    dir="$here/$peer"
    req="$dir/requirements.txt"
    venv="$dir/.venv"
    stamp="$venv/.requirements.installed"
    if [ ! -f "$req" ]; then
        echo "setup.sh: no $req" >&2
        exit 1
    fi
    if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && cmp -s "$req" "$stamp"; then
        echo "peer $peer: up to date ($venv)"
        continue
    fi
    echo "peer $peer: installing into $venv"
    [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
    cp "$req" "$stamp"
    "$venv/bin/python" -m pip freeze --disable-pip-version-check | sed "s/^/  $peer: /"
done
