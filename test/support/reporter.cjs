'use strict';
// Spec output for people, plus the plain "N passed, N failed" closing line that CI reads.
const { reporters, Runner } = require('mocha');

class SummaryReporter extends reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    runner.on(Runner.constants.EVENT_TEST_PASS, () => { passed += 1; });
    runner.on(Runner.constants.EVENT_TEST_FAIL, () => { failed += 1; });
    runner.on(Runner.constants.EVENT_TEST_PENDING, () => { skipped += 1; });
    runner.once(Runner.constants.EVENT_RUN_END, () => {
      process.nextTick(() => {
        console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
        // test/run.ts adds up several mocha runs (host suites, cluster suites) into one closing line.
        if (process.env.KS_SUMMARY_FILE) {
          require('node:fs').writeFileSync(process.env.KS_SUMMARY_FILE, JSON.stringify({ passed, failed, skipped }));
        }
      });
    });
  }
}
module.exports = SummaryReporter;
