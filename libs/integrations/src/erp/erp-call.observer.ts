import { ErpErrorCode } from './erp.errors';

/** Who a call is for, beyond what the order says (its payment and task): carried into the call log and the metrics. */
export interface ErpCallContext {
  /** The bot's name in the bots file. */
  bot?: string;
}

/** One ERP call, as the client reports it: each HTTP attempt (retries included), and each call the breaker refused. */
export interface ErpCallEvent {
  operation: 'create-payment-order';
  paymentId: string;
  taskId?: number;
  bot?: string;
  /** False when nothing was sent: the circuit breaker was open. */
  sent: boolean;
  /** HTTP status; null when no answer came or nothing was sent. */
  status: number | null;
  outcome: 'ok' | 'error';
  /** On success: the ERP already had the order (a 409 naming it, or Idempotent-Replayed). */
  duplicate?: boolean;
  errorCode?: ErpErrorCode;
  /** ErpError's message: never the auth header or URL credentials. */
  error?: string;
  startedAt: Date;
  durationMs: number;
}

/**
 * Told of every ERP call: how the worker feeds its metrics and call log without libs/integrations depending on
 * either. Called synchronously; what it throws is swallowed, so an observer can never fail a call.
 */
export interface ErpCallObserver {
  onCall(event: ErpCallEvent): void;
}

/** DI token of the (optional) observer IntegrationsModule hands to the ERP client. */
export const ERP_CALL_OBSERVER = Symbol('ERP_CALL_OBSERVER');
