#!/usr/bin/env bash
# The README's test command: build, typecheck, run a tier of the suite, end
# with one plain summary line ("tests: N passed, N failed, N skipped").
#   bash test/run.sh              both tiers (what CI runs)
#   bash test/run.sh unit         test/unit: pure, no root, seconds (npm test)
#   bash test/run.sh integration  test/integration: sshd, nspawn, dockerd, moto, vagrant (root)
# Anything after the tier goes to vitest (a file, -t NAME, ...).
set -uo pipefail
cd "$(dirname "$0")/.."
tiers=(test/unit test/integration)
case "${1:-}" in
  unit) tiers=(test/unit); shift ;;
  integration) tiers=(test/integration); shift ;;
esac
npm run -s build || exit 1
# Tests, benches and fixtures are typechecked too: vitest alone would not.
npx tsc -p tsconfig.check.json || exit 1
report=$(mktemp)
if [ $# -gt 0 ]; then tiers=(); fi
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "${tiers[@]}" "$@"
rc=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' "$report" || true
rm -f "$report"
exit $rc
