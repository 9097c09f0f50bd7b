#!/usr/bin/env bash
# `npm run test:batteries`, the last part of `npm test`: the chaos battery and, beside it, the
# security battery followed by the Dockerfile's stages. The chaos scenarios spend most of their
# time waiting for leases and retries to run out (about a fifth of two cores), so the other two
# use the idle time instead of running after them. Each part has its own servers, databases and
# Redis prefixes. The security and deploy output is printed once the chaos battery is done, so
# the two runs' lines do not interleave; the exit status is the first failure's.
set -uo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT

(npx jest -c test/security/jest.config.js && npm run test:deploy) >"$log" 2>&1 &
side=$!

npx jest -c test/chaos/jest.config.json
chaos=$?

wait "$side"
side_status=$?
echo "--- security battery and Dockerfile stages (run beside the chaos battery) ---"
cat "$log"

[ "$chaos" -ne 0 ] && exit "$chaos"
exit "$side_status"
