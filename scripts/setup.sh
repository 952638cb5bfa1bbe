#!/usr/bin/env bash
# Set up stepgrad on a fresh Debian/Ubuntu machine: Graphviz's `dot` (apt), a venv in .venv,
# and the package with its dev extra. Safe to run again. `--browser` also installs Chromium and
# ChromeDriver for the browser tests, and npm, which fetches Pyodide for the lab site (CI does this).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=()
command -v dot >/dev/null 2>&1 || packages+=(graphviz)
if [ "${1:-}" = "--browser" ]; then
  command -v chromium >/dev/null 2>&1 || packages+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || packages+=(chromium-driver)
  command -v pypy3 >/dev/null 2>&1 || packages+=(pypy3 python3-pytest python3-hypothesis python3-exceptiongroup python3-tomli)  # tests/test_pypy.py
  command -v npm >/dev/null 2>&1 || packages+=(npm)
fi
python3 -m venv --help >/dev/null 2>&1 || packages+=(python3-venv)
if [ "${#packages[@]}" -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "installing with apt-get: ${packages[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q -e '.[dev]'
echo "stepgrad is installed in .venv (run .venv/bin/stepgrad --help)"
