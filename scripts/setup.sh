#!/usr/bin/env bash
# Everything a fresh machine needs, sourced by the quick-start commands and by CI (.ci/run):
# Node >= 22 (from the npm registry when the machine's is older), Debian's openssl and nginx (real CA
# signatures and real TLS origins), the npm dependencies (npm ci when the lock changed or in CI), and the
# Python test tools in a project-local virtual environment .venv (pinned with hashes: botocore's AWS service
# models, which every stand-in checks each call against, moto for differential checks, and schemathesis, which
# fuzzes the HTTP API from docs/openapi.json).
# Source it (`. scripts/setup.sh`): it puts Node 22 on PATH for the caller.
set -euo pipefail
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export SST_TELEMETRY_DISABLED=1
log() { printf '\n== %s\n' "$*" >&2; }

# --- Node 22.18 or newer (runs TypeScript directly) -----------------------------------------------------
# 0 unless the machine's node is >= 22.18 (type stripping on by default).
node_ok() { node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 18) ? 0 : 1)' 2>/dev/null; }
if ! node_ok; then
  prefix="${MTLS_ROTATOR_NODE_PREFIX:-$HOME/.cache/mtls-rotator/node22}"
  if [ ! -x "$prefix/node_modules/.bin/node" ]; then
    log "Node $(node --version 2>/dev/null || echo none) is older than 22.18: installing node@22 from the npm registry into $prefix"
    mkdir -p "$prefix"
    npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error node@22 >/dev/null
  fi
  export PATH="$prefix/node_modules/.bin:$PATH"
fi
log "node $(node --version), npm $(npm --version)"
node_ok || { echo "Node >= 22.18 is required" >&2; exit 1; }

# --- Debian packages: openssl (real CA), nginx (real TLS origins) ----------------------------------------
need=()
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
if [ ${#need[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    log "installing Debian packages: ${need[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    # Do not let the package start a system nginx on port 80: tests and sandbox run their own on loopback.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
      $SUDO chmod +x /usr/sbin/policy-rc.d
      _remove_policy=1
    fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    if [ "${_remove_policy:-0}" = 1 ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi
  else
    log "missing ${need[*]} and no apt-get: install them with your package manager (see README)"
  fi
fi
export PATH="$PATH:/usr/sbin"
if command -v openssl >/dev/null 2>&1; then log "$(openssl version)"; fi
if command -v nginx >/dev/null 2>&1; then log "$(nginx -v 2>&1)"; fi

# --- npm dependencies -------------------------------------------------------------------------------------
if [ "${CI:-}" = "true" ] || [ ! -f "$_root/node_modules/.package-lock.json" ] ||
  [ "$_root/package-lock.json" -nt "$_root/node_modules/.package-lock.json" ]; then
  log "npm ci"
  (cd "$_root" && npm ci --no-audit --no-fund --loglevel=error)
fi

# --- Python test tools: .venv with the hash-pinned scripts/python/requirements.txt -------------------------
# (Re)installed when the lock changed, in CI, or when the venv is missing. The tests read AWS's service models
# from .venv (standins/model/botocore.ts) and start moto and schemathesis from it; without them the tests fail,
# never skip.
_venv="$_root/.venv"
_lock="$_root/scripts/python/requirements.txt"
if [ "${CI:-}" = "true" ] || [ ! -f "$_venv/.requirements.txt" ] || ! cmp -s "$_lock" "$_venv/.requirements.txt"; then
  if ! python3 -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 9) else 1)' 2>/dev/null; then
    if command -v apt-get >/dev/null 2>&1; then
      log "installing Debian packages: python3 python3-venv"
      SUDO=""
      [ "$(id -u)" -eq 0 ] || SUDO="sudo"
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
    else
      echo "Python >= 3.9 with the venv module is required (the tests' AWS models and moto)" >&2
      exit 1
    fi
  fi
  log "python test tools: $(python3 --version) -> .venv (pinned, hash-checked: scripts/python/requirements.txt)"
  rm -rf "$_venv"
  python3 -m venv "$_venv"
  "$_venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    --require-hashes --no-deps --only-binary=:all: -r "$_lock"
  cp "$_lock" "$_venv/.requirements.txt"
fi
log "botocore $("$_venv/bin/python" -c 'import botocore; print(botocore.__version__)'), moto $("$_venv/bin/python" -c 'import moto; print(moto.__version__)'), schemathesis $("$_venv/bin/python" -c 'from importlib.metadata import version; print(version("schemathesis"))')"
