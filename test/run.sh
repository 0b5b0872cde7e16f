#!/usr/bin/env bash
# The README's test command: build, run the whole suite, end with one plain
# summary line ("tests: N passed, N failed, N skipped").
set -uo pipefail
cd "$(dirname "$0")/.."
npm run -s build || exit 1
# Tests, benches and fixtures are typechecked too: vitest alone would not.
npx tsc -p tsconfig.check.json || exit 1
report=$(mktemp)
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
rc=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' "$report" || true
rm -f "$report"
exit $rc
