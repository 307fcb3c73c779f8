#!/usr/bin/env bash
# Quick start, command 1: set up this machine (scripts/setup.sh) and run a whole rotation locally
# (default scenario: healthy). Arguments go to the sandbox: `bash scripts/sandbox.sh sandbox/scenarios/failing-wave.json`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
npm run sandbox -- "$@"
