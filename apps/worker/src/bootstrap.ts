import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { QUIET_BOOT } from '@app/observability';
import { WorkerModule } from './worker.module';

/** Builds the worker app (also used by the e2e tests and the benchmarks, with their own environment). */
export async function createWorkerApp(env: Record<string, string | undefined> = process.env): Promise<INestApplication> {
  const app = await NestFactory.create(WorkerModule.forRoot(env), QUIET_BOOT);
  app.useLogger(app.get(Logger));
  app.flushLogs();
  // On SIGTERM Nest closes the Bull queues, which waits for the active jobs to finish.
  app.enableShutdownHooks();
  return app;
}
