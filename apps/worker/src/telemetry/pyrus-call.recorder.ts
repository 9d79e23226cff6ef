import { Injectable } from '@nestjs/common';
import { BotRegistry } from '@app/bots';
import { MetricsService, UNKNOWN_BOT_LABEL } from '@app/observability';
import { PyrusCallEvent, PyrusCallObserver } from '@app/pyrus';
import { CallLogWriter } from './call-log.writer';

/** The worker's PyrusCallObserver: each HTTP request to Pyrus moves the metrics and becomes an outbound_calls row. */
@Injectable()
export class PyrusCallRecorder implements PyrusCallObserver {
  /** A sign-in (POST /auth) names only the login; the bots file says whose it is. */
  private readonly botByLogin = new Map<string, string>();

  constructor(
    private readonly metrics: MetricsService,
    private readonly callLog: CallLogWriter,
    bots: BotRegistry,
  ) {
    for (const bot of bots.all()) if (!this.botByLogin.has(bot.login)) this.botByLogin.set(bot.login, bot.name);
  }

  onCall(event: PyrusCallEvent): void {
    const { context } = event;
    const bot = context.bot ?? this.botByLogin.get(event.login);
    this.metrics.pyrusCalls.inc({
      bot: bot ?? UNKNOWN_BOT_LABEL,
      operation: event.operation,
      status: event.status === null ? 'error' : String(event.status),
    });
    this.metrics.pyrusCallDuration.observe({ operation: event.operation }, event.durationMs / 1000);
    this.callLog.recordCall({
      target: 'pyrus',
      operation: event.operation,
      bot: bot ?? null,
      taskId: context.taskId ?? null,
      deliveryId: context.deliveryId ?? null,
      paymentId: context.paymentId ?? null,
      status: event.status,
      outcome: event.outcome,
      error: event.error ?? null,
      durationMs: event.durationMs,
      at: event.startedAt,
    });
  }
}
