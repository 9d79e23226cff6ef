/** Queue names: the api produces on these, the worker consumes them. */
export const DELIVERIES_QUEUE = 'deliveries';

/** Job names inside the deliveries queue. */
export const PROCESS_DELIVERY_JOB = 'process-delivery';

/** Payload of PROCESS_DELIVERY_JOB. The Bull job id is the delivery id, so adding it twice is a no-op. */
export interface ProcessDeliveryJob {
  deliveryId: string;
  /** The delivery's bot and task, so the worker can take the task's lock before reading it (absent in older jobs). */
  bot?: string;
  taskId?: number;
  /**
   * The webhook's own bearer token. It lives only here (in Redis, for the job's lifetime), never in Postgres or a
   * log; a job queued by the sweeper has none and the worker signs in as the bot instead.
   */
  accessToken?: string;
  /** Ties the worker's log lines to the webhook request that stored the delivery. */
  requestId?: string;
  /**
   * Epoch ms until which an api process holds the webhook open to answer with the decision (the bot's reply is
   * `auto` or `inline`); absent when nobody waits (reply `api`, the sweeps, a replay).
   */
  answerBy?: number;
}

/**
 * Work that follows a posted decision, each with its own retries, declared by the bot's handler (its followUpsOf).
 * The job's name is the follow-up's kind and its id `<kind>:<key>`, so one follow-up is queued once.
 */
export const FOLLOWUPS_QUEUE = 'followups';

/** Payload of a follow-up job. */
export interface FollowUpJob {
  bot: string;
  taskId: number;
  kind: string;
  key: string;
  data?: Record<string, unknown>;
  /** What the call log ties the job's attempts to (see JobSubject). */
  callLog?: { paymentId?: string };
  requestId?: string;
}
