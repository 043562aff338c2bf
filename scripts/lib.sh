# Shared helpers for scripts/demo and scripts/test (sourced, not executed).
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

say() { printf '\033[1;34m%s\033[0m\n' "$*"; }
warn() { printf '\033[1;33m%s\033[0m\n' "$*" >&2; }
die() {
  printf '\033[1;31m%s\033[0m\n' "$*" >&2
  exit 1
}

# The Python to build .venv with: python3.11 (pyproject requires 3.11).
find_python() {
  local cand
  for cand in "${ECO_PYTHON:-}" python3.11 python3; do
    [ -n "$cand" ] || continue
    if command -v "$cand" >/dev/null 2>&1 &&
      "$cand" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' 2>/dev/null; then
      command -v "$cand"
      return 0
    fi
  done
  return 1
}

# Create .venv with Python 3.11 when it is missing.
venv_create() {
  local python
  [ -x "$PY" ] && return 0
  python="$(find_python)" || die "需要 Python 3.11（python3.11）/ Python 3.11 is required (set ECO_PYTHON to its path)."
  "$python" -m venv "$VENV" || die "创建虚拟环境失败 / could not create $VENV (Debian: apt-get install python3.11-venv)."
}

# venv_install EXTRAS: install the project (editable) into .venv with EXTRAS ("" or "test").
# Skipped when pyproject.toml has not changed since the last install; a test install covers the base one.
venv_install() {
  local extras="$1" spec="$ROOT" want stamp
  [ -n "$extras" ] && spec="$ROOT[$extras]"
  want="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
  stamp="$VENV/.eco12369-installed-${extras:-base}"
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return 0
  [ -z "$extras" ] && [ -f "$VENV/.eco12369-installed-test" ] &&
    [ "$(cat "$VENV/.eco12369-installed-test")" = "$want" ] && return 0
  # (The grep hides pip's notes about configured local package folders that do not exist.)
  # (Both scripts run with pipefail, so a failing pip fails the pipeline.)
  if ! "$PY" -m pip install --quiet --disable-pip-version-check --progress-bar off -e "$spec" 2>&1 |
    { grep -v "^WARNING: Location 'file:" || true; }; then
    die "安装依赖失败 / pip install failed."
  fi
  echo "$want" >"$stamp"
}
