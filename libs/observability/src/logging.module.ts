import { randomUUID } from 'node:crypto';
import { IncomingMessage } from 'node:http';
import { DynamicModule, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { LoggerModule } from 'nestjs-pino';
import { AppConfiguration } from '@app/config';
import { LOG_REDACT_PATHS } from '@app/pyrus';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** A request that carries fields for its completion log line (see `noteOnLogLine`). */
export interface LoggedRequest extends IncomingMessage {
  logFields?: Record<string, unknown>;
}

/** Adds fields to the request's one completion log line. */
export function noteOnLogLine(req: IncomingMessage, fields: Record<string, unknown>): void {
  const logged = req as LoggedRequest;
  logged.logFields = { ...logged.logFields, ...fields };
}

/** The caller's X-Request-Id when it looks sane (a load balancer's), else a fresh UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * JSON logs through pino with secrets redacted and a `requestId` on every request line. Built by forRoot at boot,
 * not at import: nestjs-pino registers a provider for each @InjectPinoLogger it has seen by then.
 */
@Module({})
export class LoggingModule {
  static forRoot(): DynamicModule {
    return { module: LoggingModule, imports: [loggerModule()] };
  }
}

function loggerModule() {
  return LoggerModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<AppConfiguration, true>) => ({
        pinoHttp: {
          level: config.get('app', { infer: true }).logLevel,
          redact: { paths: LOG_REDACT_PATHS, censor: '[REDACTED]' },
          genReqId: (req, res) => {
            const id = requestIdOf(req);
            res.setHeader('x-request-id', id);
            return id;
          },
          customProps: (req) => ({ requestId: req.id }),
          // What a handler noted on the request (bot, task, delivery id) goes onto its one completion line. Cheaper
          // than a child logger per request, which matters on the webhook's hot path.
          customSuccessObject: (req, _res, line) => ({ ...line, ...(req as LoggedRequest).logFields }),
          customErrorObject: (req, _res, _err, line) => ({ ...line, ...(req as LoggedRequest).logFields }),
          // Health probes and metrics scrapes every few seconds would drown the log.
          autoLogging: { ignore: (req) => (req.url?.startsWith('/health') || req.url?.startsWith('/metrics')) ?? false },
          serializers: {
            req: (req: { id: string; method: string; url: string; headers: Record<string, unknown> }) => ({
              id: req.id,
              method: req.method,
              url: req.url,
              headers: {
                'user-agent': req.headers['user-agent'],
                'x-pyrus-retry': req.headers['x-pyrus-retry'],
                // Redacted here rather than by a pino redact path: wildcard paths cost on every line.
                'x-pyrus-sig': req.headers['x-pyrus-sig'] === undefined ? undefined : '[REDACTED]',
                'content-length': req.headers['content-length'],
              },
            }),
          },
        },
      }),
  });
}
