/**
 * Prints one plain closing line, "jest: N passed, N failed, N skipped", after jest's own summary, so tools that
 * read a run's last lines (CI) can count the tests.
 */
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const skipped = results.numPendingTests + results.numTodoTests;
    // stderr, like jest's own summary, so this line comes after it.
    process.stderr.write(`\njest: ${results.numPassedTests} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}

module.exports = SummaryReporter;
