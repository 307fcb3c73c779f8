#!/usr/bin/env bash
# Writes SST's platform types (.sst/platform) offline so sst.config.ts and infra/ can be type-checked.
# bun comes from the npm registry (devDependency); no AWS account or Pulumi CLI is needed for this.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f .sst/platform/config.d.ts ] && [ .sst/platform/config.d.ts -nt package-lock.json ]; then exit 0; fi
SST_BUN_PATH="$PWD/node_modules/.bin/bun" SST_SKIP_DEPENDENCY_CHECK=1 SST_TELEMETRY_DISABLED=1 \
  SST_STAGE="${SST_STAGE:-typecheck}" npx --no-install sst install >/dev/null
