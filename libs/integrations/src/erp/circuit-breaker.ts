export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long the open circuit rejects calls before it lets one trial call through. */
  cooldownMs: number;
  /** Which errors count as failures. Others mean the service answered (a 4xx, say) and count as success. Default: all. */
  isFailure?: (err: unknown) => boolean;
  /** The error a rejected call throws; gets the time left until the next trial and the last failure seen. */
  openError?: (retryInMs: number, lastFailure: unknown) => Error;
  onStateChange?: (to: CircuitState, from: CircuitState) => void;
  /** Clock, for tests. */
  now?: () => number;
}

export class CircuitOpenError extends Error {
  constructor(readonly retryInMs: number) {
    super(`Circuit open, next trial in ${retryInMs} ms`);
    this.name = 'CircuitOpenError';
  }
}

/**
 * A small circuit breaker. After `failureThreshold` consecutive failures it opens: calls are rejected at once with
 * `openError`, without running. After `cooldownMs` the next call is a trial (half-open; calls meanwhile are still
 * rejected): its success closes the circuit, its failure opens it for another cool-down.
 *
 * The state lives in this object, so each process (each worker replica) has its own breaker. That is enough for its
 * purpose, sparing a dead service and our jobs; N replicas make at most N trial calls per cool-down.
 */
export class CircuitBreaker {
  private current: CircuitState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private trialInFlight = false;
  private lastFailure: unknown;
  private readonly now: () => number;
  private readonly isFailure: (err: unknown) => boolean;

  constructor(private readonly options: CircuitBreakerOptions) {
    if (!(options.failureThreshold >= 1)) throw new RangeError('failureThreshold must be at least 1');
    if (!(options.cooldownMs >= 0)) throw new RangeError('cooldownMs must not be negative');
    this.now = options.now ?? Date.now;
    this.isFailure = options.isFailure ?? (() => true);
  }

  /** The state as the next call would find it: an open circuit whose cool-down has passed reads as half-open. */
  get state(): CircuitState {
    if (this.current === 'open' && this.retryInMs() === 0) return 'half-open';
    return this.current;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const trial = this.admit();
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      if (this.isFailure(err)) this.recordFailure(err, trial);
      else this.recordSuccess(trial);
      throw err;
    }
    this.recordSuccess(trial);
    return result;
  }

  /** Lets the call through or throws; returns true when the call is the half-open trial. */
  private admit(): boolean {
    if (this.current === 'closed') return false;
    if (this.current === 'open') {
      const left = this.retryInMs();
      if (left > 0) throw this.rejection(left);
      this.transition('half-open');
    }
    if (this.trialInFlight) throw this.rejection(0);
    this.trialInFlight = true;
    return true;
  }

  private recordSuccess(trial: boolean): void {
    if (trial) this.trialInFlight = false;
    // Any answer, even from a call that began before the circuit opened, shows the service is back.
    this.failures = 0;
    if (this.current !== 'closed') this.transition('closed');
  }

  private recordFailure(err: unknown, trial: boolean): void {
    this.lastFailure = err;
    if (trial) {
      this.trialInFlight = false;
      this.open();
      return;
    }
    // A call that began before the circuit opened must not extend the cool-down.
    if (this.current !== 'closed') return;
    this.failures += 1;
    if (this.failures >= this.options.failureThreshold) this.open();
  }

  private open(): void {
    this.openedAt = this.now();
    this.failures = 0;
    this.transition('open');
  }

  private retryInMs(): number {
    return Math.max(0, this.openedAt + this.options.cooldownMs - this.now());
  }

  private rejection(retryInMs: number): Error {
    return this.options.openError ? this.options.openError(retryInMs, this.lastFailure) : new CircuitOpenError(retryInMs);
  }

  private transition(to: CircuitState): void {
    const from = this.current;
    if (from === to) return;
    this.current = to;
    this.options.onStateChange?.(to, from);
  }
}
