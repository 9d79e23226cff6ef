import { NoResponseError, parseJsonObject, postJson } from '../http/post-json';
import { authValueSecrets, bodyExcerpt, scrubSecrets } from '../http/scrub-secrets';
import { CircuitBreaker, CircuitState } from './circuit-breaker';
import { ErpCallContext, ErpCallEvent, ErpCallObserver } from './erp-call.observer';
import { ErpError, ErpUnavailableError } from './erp.errors';
import { ErpClientSettings, PaymentOrder, PaymentOrderResult } from './erp.types';

const DECIMAL = /^\d+(\.\d+)?$/;

export interface ErpClientOptions {
  /** Guards every HTTP attempt; build it with `createErpCircuitBreaker`. Without one the ERP is always called. */
  breaker?: CircuitBreaker;
  /** Waits between retries; replaceable in tests. */
  sleep?: (ms: number) => Promise<void>;
  /** Told of every HTTP attempt and every call the breaker refused (metrics, call log). */
  observer?: ErpCallObserver;
}

/** A circuit breaker that counts only outages (no answer, 5xx) and rejects with a retryable ErpUnavailableError. */
export function createErpCircuitBreaker(options: {
  failureThreshold: number;
  cooldownMs: number;
  onStateChange?: (to: CircuitState, from: CircuitState) => void;
  now?: () => number;
}): CircuitBreaker {
  return new CircuitBreaker({
    ...options,
    isFailure: (err) => err instanceof ErpError && err.isOutage,
    openError: (retryInMs, lastFailure) => new ErpUnavailableError(retryInMs, lastFailure),
  });
}

/**
 * A generic HTTP connector to the ERP: one POST of the payment order as JSON per call, with the configured auth header
 * and `Idempotency-Key: <payment id>`, so that retries (ours, or a Bull job's days later) never create a second order.
 * Network errors, timeouts and 5xx are retried with exponential backoff and jitter; a 4xx is not. Built with settings
 * null (ERP_URL not set), it is disabled and every call fails with ERP_NOT_CONFIGURED.
 */
export class ErpClient {
  private readonly secrets: string[];
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly settings: ErpClientSettings | null,
    private readonly options: ErpClientOptions = {},
  ) {
    this.secrets = authValueSecrets(settings?.authValue);
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  get enabled(): boolean {
    return this.settings !== null;
  }

  /** The breaker's state, for health checks and logs; "closed" when there is no breaker. */
  get circuitState(): CircuitState {
    return this.options.breaker?.state ?? 'closed';
  }

  /**
   * Creates the payment order, or finds the one an earlier call created (`duplicate: true`). Throws ErpError; an
   * ErpUnavailableError when the circuit breaker is open (nothing was sent). `context` only goes to the observer.
   */
  async createPaymentOrder(order: PaymentOrder, context: ErpCallContext = {}): Promise<PaymentOrderResult> {
    const settings = this.settings;
    if (!settings) throw new ErpError('ERP is not configured (ERP_URL is not set)', 0, false, 'ERP_NOT_CONFIGURED');
    checkOrder(order);
    const breaker = this.options.breaker;
    for (let attempt = 0; ; attempt++) {
      try {
        return breaker
          ? await breaker.run(() => this.observedPost(settings, order, context))
          : await this.observedPost(settings, order, context);
      } catch (err) {
        if (err instanceof ErpUnavailableError) {
          this.report(order, context, {
            sent: false,
            status: null,
            outcome: 'error',
            errorCode: err.code,
            error: err.message,
            startedAt: new Date(),
            durationMs: 0,
          });
        }
        // An open breaker ends the call: the next try belongs to a later job, not to this loop.
        if (!(err instanceof ErpError) || err instanceof ErpUnavailableError || !err.retryable || attempt >= settings.retries) throw err;
        await this.sleep(backoffMs(settings.retryBaseMs, attempt));
      }
    }
  }

  /** One HTTP attempt, reported to the observer. */
  private async observedPost(settings: ErpClientSettings, order: PaymentOrder, context: ErpCallContext): Promise<PaymentOrderResult> {
    const startedAt = new Date();
    const t0 = performance.now();
    try {
      const result = await this.post(settings, order);
      this.report(order, context, {
        sent: true,
        status: result.status,
        outcome: 'ok',
        duplicate: result.duplicate,
        startedAt,
        durationMs: performance.now() - t0,
      });
      return result;
    } catch (err) {
      if (err instanceof ErpError) {
        const status = err.status || null;
        this.report(order, context, {
          sent: true,
          status,
          outcome: 'error',
          errorCode: err.code,
          error: err.message,
          startedAt,
          durationMs: performance.now() - t0,
        });
      }
      throw err;
    }
  }

  private report(
    order: PaymentOrder,
    context: ErpCallContext,
    event: Omit<ErpCallEvent, 'operation' | 'paymentId' | 'taskId' | 'bot'>,
  ): void {
    if (!this.options.observer) return;
    try {
      this.options.observer.onCall({
        operation: 'create-payment-order',
        paymentId: order.paymentId,
        taskId: order.taskId,
        bot: context.bot,
        ...event,
      });
    } catch {
      // An observer's failure must never become the call's.
    }
  }

  /** One HTTP attempt. */
  private async post(settings: ErpClientSettings, order: PaymentOrder): Promise<PaymentOrderResult> {
    const what = `ERP POST ${settings.path}`;
    const headers: Record<string, string> = { 'idempotency-key': order.paymentId };
    if (settings.authValue) headers[settings.authHeader.toLowerCase()] = settings.authValue;
    let response;
    try {
      response = await postJson(`${settings.url}${settings.path}`, headers, order, settings.timeoutMs);
    } catch (err) {
      if (!(err instanceof NoResponseError)) throw err;
      const code = err.reason === 'timeout' ? 'ERP_TIMEOUT' : 'ERP_NETWORK_ERROR';
      throw new ErpError(this.scrub(`${what} ${err.message}`), 0, true, code);
    }
    const { status, text } = response;
    const body = parseJsonObject(text);
    const documentId = readDocumentId(body);
    if (status >= 200 && status < 300) {
      if (documentId) return { documentId, status, duplicate: response.headers.get('idempotent-replayed') === 'true' };
      // The order was probably created: retrying with the same Idempotency-Key is safe and should give its id.
      throw new ErpError(
        this.scrub(`${what} answered ${status} without a document id (id or documentId)${detailOf(body, text)}`),
        status,
        true,
        'ERP_INVALID_RESPONSE',
      );
    }
    if (status === 409 && documentId) return { documentId, status, duplicate: true };
    const retryable = status >= 500 || status === 429;
    const why = status === 409 ? ' without a document id' : '';
    throw new ErpError(this.scrub(`${what} answered ${status}${why}${detailOf(body, text)}`), status, retryable, 'ERP_HTTP_ERROR');
  }

  private scrub(message: string): string {
    return scrubSecrets(message, this.secrets);
  }
}

function checkOrder(order: PaymentOrder): void {
  const problems: string[] = [];
  if (typeof order.paymentId !== 'string' || order.paymentId.trim() === '') problems.push('paymentId is empty');
  else if (!/^[\x21-\x7e]+$/.test(order.paymentId))
    problems.push('paymentId must be printable ASCII without spaces (it is a header value)');
  if (typeof order.amount !== 'string' || !DECIMAL.test(order.amount)) problems.push('amount must be a decimal string such as "1250.00"');
  if (typeof order.currency !== 'string' || order.currency.trim() === '') problems.push('currency is empty');
  if (problems.length > 0) throw new ErpError(`Invalid payment order: ${problems.join('; ')}`, 0, false, 'ERP_INVALID_ORDER');
}

function readDocumentId(body: Record<string, unknown> | undefined): string | undefined {
  for (const value of [body?.id, body?.documentId]) {
    if (typeof value === 'string' && value.trim() !== '') return value;
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  }
  return undefined;
}

/** The ERP's own explanation: a JSON message field if there is one, else an excerpt of the body (an HTML page, say). */
function detailOf(body: Record<string, unknown> | undefined, text: string): string {
  let detail: unknown;
  if (body) {
    const error = body.error;
    detail =
      body.message ?? body.detail ?? body.title ?? (error && typeof error === 'object' ? (error as { message?: unknown }).message : error);
  }
  const line = typeof detail === 'string' ? bodyExcerpt(detail) : bodyExcerpt(text);
  return line ? `: ${line}` : '';
}

/** Exponential backoff with jitter: between half and one and a half times base·2^attempt. */
function backoffMs(base: number, attempt: number): number {
  const delay = base * 2 ** attempt;
  return delay / 2 + Math.random() * delay;
}
