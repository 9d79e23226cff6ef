/**
 * Prints one plain closing line, "jest: N passed, N failed, N skipped", as the very last line of the run (after
 * jest's own summary), so tools that read a run's closing lines (CI) can count the tests.
 */
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const skipped = results.numPendingTests + results.numTodoTests;
    const line = `\njest: ${results.numPassedTests} passed, ${failed} failed, ${skipped} skipped\n`;
    // Jest prints its summary after the custom reporters have run; writing on exit puts this line below it.
    process.once('exit', () => process.stderr.write(line));
  }
}

module.exports = SummaryReporter;
