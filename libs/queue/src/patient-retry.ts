import type { JobOptions } from 'bull';
import type { AppConfiguration } from '@app/config';

/** The Bull backoff strategy of a patient job, registered with every queue (QueueModule's backoffStrategies). */
export const PATIENT_BACKOFF = 'patient';

/** What a patient job carries in `opts.backoff.options`, so its waits match the attempts it was given when queued. */
export interface PatientBackoffOptions {
  delayMs: number;
  maxDelayMs: number;
}

/** How many failed attempts' stack traces a patient job keeps: hundreds of retries would each add one to its hash. */
const PATIENT_STACK_TRACE_LIMIT = 10;

/** The wait after a patient job's `attemptsMade`-th failed attempt (1 for the first): doubling from delayMs, capped. */
export function patientDelay(attemptsMade: number, { delayMs, maxDelayMs }: PatientBackoffOptions): number {
  const doublings = Math.max(0, attemptsMade - 1);
  // 2^31 ms is past any cap the settings allow; stop doubling there so the power stays finite.
  return Math.min(delayMs * 2 ** Math.min(doublings, 31), maxDelayMs);
}

/**
 * How many attempts a patient job gets: the first, plus as many retries as their waits fit in `patienceMs` (the
 * attempts' own run time comes on top), and never fewer than the queue's default attempts.
 */
export function patientAttempts(patienceMs: number, backoff: PatientBackoffOptions, defaultAttempts: number): number {
  let retries = 0;
  let waited = 0;
  // Doubling reaches the cap within a few dozen steps; after it, each retry waits the cap.
  for (;;) {
    const next = patientDelay(retries + 1, backoff);
    if (waited + next > patienceMs) break;
    waited += next;
    retries += 1;
    if (next >= backoff.maxDelayMs) {
      retries += Math.floor((patienceMs - waited) / backoff.maxDelayMs);
      break;
    }
  }
  return Math.max(defaultAttempts, 1 + retries);
}

/** The job options of a patient job under the queue settings: its attempts, its capped backoff, a bounded trace. */
export function patientJobOptions(queue: AppConfiguration['queue']): Pick<JobOptions, 'attempts' | 'backoff' | 'stackTraceLimit'> {
  const options: PatientBackoffOptions = { delayMs: queue.backoffMs, maxDelayMs: queue.followUpRetryMaxDelayMs };
  return {
    attempts: patientAttempts(queue.followUpPatienceMs, options, queue.attempts),
    backoff: { type: PATIENT_BACKOFF, options },
    stackTraceLimit: PATIENT_STACK_TRACE_LIMIT,
  };
}

/**
 * The strategy Bull calls after a patient job's failed attempt (with `opts.backoff.options`); a job queued without its
 * options waits as the queue's settings say now.
 */
export function patientBackoffStrategy(fallback: PatientBackoffOptions) {
  return (attemptsMade: number, _err: Error, options?: Partial<PatientBackoffOptions> | null): number =>
    patientDelay(attemptsMade, {
      delayMs: options?.delayMs ?? fallback.delayMs,
      maxDelayMs: options?.maxDelayMs ?? fallback.maxDelayMs,
    });
}
