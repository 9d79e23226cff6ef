import { Global, Module } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { BotsModule } from '@app/bots';
import { ERP_CALL_OBSERVER } from '@app/integrations';
import { MetricsService } from '@app/observability';
import { PYRUS_CALL_OBSERVER, PyrusModule } from '@app/pyrus';
import { QueueModule } from '@app/queue';
import { CallLogWriter } from './call-log.writer';
import { ErpCallRecorder } from './erp-call.recorder';
import { JobAttemptsRecorder } from './job-attempts.recorder';
import { PyrusCallRecorder } from './pyrus-call.recorder';
import { WorkerGauges } from './worker-gauges';

/**
 * The worker's metrics and call log: the observers PyrusModule and IntegrationsModule hand to their clients (global,
 * so those modules can inject them), the job-attempt recorder the processors use, and the scrape-time gauges.
 */
@Global()
@Module({
  imports: [QueueModule, PyrusModule, BotsModule],
  providers: [
    {
      provide: CallLogWriter,
      inject: [getDataSourceToken(), MetricsService],
      useFactory: (db: DataSource, metrics: MetricsService) => new CallLogWriter(db, metrics),
    },
    PyrusCallRecorder,
    ErpCallRecorder,
    { provide: PYRUS_CALL_OBSERVER, useExisting: PyrusCallRecorder },
    { provide: ERP_CALL_OBSERVER, useExisting: ErpCallRecorder },
    JobAttemptsRecorder,
    WorkerGauges,
  ],
  exports: [PYRUS_CALL_OBSERVER, ERP_CALL_OBSERVER, JobAttemptsRecorder, CallLogWriter],
})
export class TelemetryModule {}
