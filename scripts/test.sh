#!/usr/bin/env bash
# Quick start, command 2: set up this machine (scripts/setup.sh) and run the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
npm test
