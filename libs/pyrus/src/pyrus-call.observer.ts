/** What a Pyrus call is for, carried into the call log and the metrics. Ids and names only: never a token. */
export interface PyrusCallContext {
  /** The bot's name in the bots file. */
  bot?: string;
  taskId?: number;
  deliveryId?: string;
  paymentId?: string;
}

/** One HTTP request to Pyrus, as the client reports it (each retry, 429 and sign-in is its own request). */
export interface PyrusCallEvent {
  /** Method and path with ids as placeholders, without the query: "GET /tasks/{id}", "POST /auth". */
  operation: string;
  /** The bot account's login (not a secret). */
  login: string;
  /** The caller's context; `taskId` comes from the path when the caller gave none. */
  context: PyrusCallContext;
  /** HTTP status; null when no answer came (network error, timeout). */
  status: number | null;
  outcome: 'ok' | 'error';
  /** Why it failed, with the call's token and security key removed should an answer ever echo them. */
  error?: string;
  startedAt: Date;
  /** From sending the request to the end of the answer; the wait for quota is not included. */
  durationMs: number;
}

/**
 * Told of every HTTP request the Pyrus client makes: how the worker feeds its metrics and call log without
 * libs/pyrus depending on either. Called synchronously on the call's path: keep it cheap and never block; what it
 * throws is swallowed, so an observer can never fail a call.
 */
export interface PyrusCallObserver {
  onCall(event: PyrusCallEvent): void;
}

/** DI token of the (optional) observer PyrusModule hands to the client. */
export const PYRUS_CALL_OBSERVER = Symbol('PYRUS_CALL_OBSERVER');

/** "GET /tasks/1001/comments?x=1" → "GET /tasks/{id}/comments": any path segment holding a digit is an id. */
export function pyrusOperation(method: string, path: string): string {
  return `${method} ${path.split('?')[0].replace(/\/[^/]*\d[^/]*/g, '/{id}')}`;
}

/** The task a path is about (`/tasks/{id}...`), if any. */
export function taskIdOfPath(path: string): number | undefined {
  const match = /^\/tasks\/(\d+)(?:[/?]|$)/.exec(path);
  return match ? Number(match[1]) : undefined;
}

/** Removes every occurrence of the given secrets from a text (an error message, before it is stored). */
export function withoutSecrets(text: string, secrets: Array<string | undefined>): string {
  let out = text;
  for (const secret of secrets) if (secret && secret.length >= 4) out = out.split(secret).join('[REDACTED]');
  return out;
}

/** Reports one HTTP request to the observer exactly once, whichever way it ends. */
export class ObservedPyrusCall {
  private readonly startedAt = new Date();
  private readonly t0 = performance.now();
  private status: number | null = null;
  private durationMs?: number;
  private reported = false;

  constructor(
    private readonly observer: PyrusCallObserver | undefined,
    private readonly call: Pick<PyrusCallEvent, 'operation' | 'login' | 'context'>,
    private readonly secrets: Array<string | undefined>,
  ) {}

  /** The answer is in (status and body read): the duration ends here. */
  answered(status: number): void {
    this.status = status;
    this.durationMs = performance.now() - this.t0;
  }

  ok(): void {
    this.report('ok');
  }

  failed(reason: unknown): void {
    this.report('error', reason instanceof Error ? reason.message : String(reason));
  }

  private report(outcome: 'ok' | 'error', error?: string): void {
    if (this.reported || !this.observer) return;
    this.reported = true;
    try {
      this.observer.onCall({
        ...this.call,
        status: this.status,
        outcome,
        ...(error !== undefined ? { error: withoutSecrets(error, this.secrets) } : {}),
        startedAt: this.startedAt,
        durationMs: this.durationMs ?? performance.now() - this.t0,
      });
    } catch {
      // An observer's failure must never become the call's.
    }
  }
}
