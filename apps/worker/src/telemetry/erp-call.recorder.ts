import { Injectable } from '@nestjs/common';
import { ErpCallEvent, ErpCallObserver } from '@app/integrations';
import { MetricsService } from '@app/observability';
import { CallLogWriter } from './call-log.writer';

/** The `outcome` label of pyrus_bots_erp_calls_total. */
export function erpOutcomeLabel(event: ErpCallEvent): string {
  if (event.outcome === 'ok') return event.duplicate ? 'duplicate' : 'ok';
  switch (event.errorCode) {
    case 'ERP_UNAVAILABLE':
      return 'circuit_open';
    case 'ERP_TIMEOUT':
      return 'timeout';
    case 'ERP_NETWORK_ERROR':
      return 'network_error';
    case 'ERP_INVALID_RESPONSE':
      return 'invalid_response';
    default:
      return event.status !== null && event.status >= 500 ? 'http_5xx' : 'http_4xx';
  }
}

/**
 * The worker's ErpCallObserver: each ERP call moves the metrics; each one actually sent becomes an outbound_calls
 * row (a call the open breaker refused is only counted: the job attempt's error tells it).
 */
@Injectable()
export class ErpCallRecorder implements ErpCallObserver {
  constructor(
    private readonly metrics: MetricsService,
    private readonly callLog: CallLogWriter,
  ) {}

  onCall(event: ErpCallEvent): void {
    this.metrics.erpCalls.inc({ operation: event.operation, outcome: erpOutcomeLabel(event) });
    if (!event.sent) return;
    this.callLog.recordCall({
      target: 'erp',
      operation: event.operation,
      bot: event.bot ?? null,
      taskId: event.taskId ?? null,
      paymentId: event.paymentId,
      status: event.status,
      outcome: event.outcome,
      error: event.error ?? null,
      durationMs: event.durationMs,
      at: event.startedAt,
    });
  }
}
