import { PATIENT_BACKOFF, patientAttempts, patientBackoffStrategy, patientDelay, patientJobOptions } from './patient-retry';

describe('the patient retry of a follow-up', () => {
  const defaults = { delayMs: 2000, maxDelayMs: 300000 };

  it('waits twice as long after each failure, from the first delay up to the cap', () => {
    const waits = [1, 2, 3, 8, 9, 10, 500].map((n) => patientDelay(n, defaults));
    expect(waits).toEqual([2000, 4000, 8000, 256000, 300000, 300000, 300000]);
  });

  it('gives as many attempts as their waits fit in the patience: a day at the defaults is 295', () => {
    // 2 s … 256 s is 510 s in 8 retries; (86 400 - 510) / 300 = 286 more; with the first attempt, 295.
    expect(patientAttempts(86400000, defaults, 6)).toBe(295);
    // 50, 100, 200, 200, 200, 200 ms is 950 ms; a seventh wait would pass 1 000 ms.
    expect(patientAttempts(1000, { delayMs: 50, maxDelayMs: 200 }, 4)).toBe(7);
    expect(patientAttempts(950, { delayMs: 50, maxDelayMs: 200 }, 4)).toBe(7);
    expect(patientAttempts(949, { delayMs: 50, maxDelayMs: 200 }, 4)).toBe(6);
  });

  it('is never less patient than the queue: at least its default attempts', () => {
    expect(patientAttempts(0, defaults, 6)).toBe(6);
    expect(patientAttempts(10000, defaults, 6)).toBe(6);
  });

  it('puts the attempts, the strategy and its delays in the job options, and Bull reads the delays back from there', () => {
    const options = patientJobOptions({ attempts: 4, backoffMs: 50, followUpPatienceMs: 1000, followUpRetryMaxDelayMs: 200 } as never);
    expect(options).toEqual({
      attempts: 7,
      backoff: { type: PATIENT_BACKOFF, options: { delayMs: 50, maxDelayMs: 200 } },
      stackTraceLimit: 10,
    });
    // The queue's own settings are only the fallback of a job queued without its options.
    const strategy = patientBackoffStrategy(defaults);
    const backoff = options.backoff as { options: { delayMs: number; maxDelayMs: number } };
    expect([1, 2, 3, 4].map((n) => strategy(n, new Error('503'), backoff.options))).toEqual([50, 100, 200, 200]);
    expect(strategy(1, new Error('503'), null)).toBe(2000);
  });
});
