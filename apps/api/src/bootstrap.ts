import { INestApplication } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { json, NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { AppConfiguration } from '@app/config';
import { QUIET_BOOT } from '@app/observability';
import { BULL_BOARD_ROUTE } from './admin/admin.module';
import { setUpOpenApi } from './admin/openapi';
import { ApiModule } from './api.module';

/** Builds the api app (also used by the e2e tests and the benchmark, with their own environment). */
export async function createApiApp(env: Record<string, string | undefined> = process.env): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(ApiModule.forRoot(env), {
    // The webhook route reads its own raw body; no global parser may consume the stream first.
    bodyParser: false,
    ...QUIET_BOOT,
  });
  app.useLogger(app.get(Logger));
  app.flushLogs();
  const { trustProxy } = app.get<ConfigService<AppConfiguration, true>>(ConfigService).get('admin', { infer: true });
  // Whether X-Forwarded-For names the client (req.ip): for the admin rate limit and the audit log.
  app.set('trust proxy', trustProxy);
  app.use(securityHeaders());
  app.use('/admin', json({ limit: '100kb' }));
  setUpOpenApi(app);
  app.enableShutdownHooks();
  return app;
}

/**
 * helmet's headers on every page a browser may open. Not on the webhook, which only Pyrus's servers call and which
 * must stay cheap; the Bull Board page runs inline scripts, so it gets everything but the script policy.
 */
function securityHeaders() {
  const strict = helmet();
  const board = helmet({ contentSecurityPolicy: false });
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.path.startsWith('/bots/')) return next();
    if (req.path.startsWith(BULL_BOARD_ROUTE)) return board(req, res, next);
    return strict(req, res, next);
  };
}
