import { randomUUID } from 'node:crypto';
import { IncomingMessage } from 'node:http';
import { DynamicModule, Module, RequestMethod } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { LoggerModule } from 'nestjs-pino';
import { AppConfiguration } from '@app/config';
import { LOG_REDACT_PATHS } from '@app/pyrus';
import { DestinationStream } from 'pino';
import { chooseLogFormat, LogFormatSetting, prettyStream } from './log-format';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** A route as Nest's middleware consumer takes it. */
export interface HttpRoute {
  path: string;
  method: RequestMethod;
}

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

/** What a request line shows of the request: no body, and of the headers only those that help and hold no secret. */
export function requestSummary(req: { id?: unknown; method?: string; url?: string; headers: IncomingMessage['headers'] }) {
  return {
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
  };
}

/**
 * Health probes and metrics scrapes every few seconds would drown the log; and they stay out of pino-http altogether,
 * because its first request switches on its AsyncLocalStorage, whose hooks then tax every promise the process makes
 * (the worker's HTTP port serves nothing else).
 */
const UNLOGGED_ROUTES: HttpRoute[] = [
  { path: 'health/live', method: RequestMethod.GET },
  { path: 'health/ready', method: RequestMethod.GET },
  { path: 'metrics', method: RequestMethod.GET },
];

/**
 * JSON logs through pino with secrets redacted and a `requestId` on every request line. Built by forRoot at boot,
 * not at import: nestjs-pino registers a provider for each @InjectPinoLogger it has seen by then.
 */
@Module({})
export class LoggingModule {
  /** `ownAccessLog`: routes that write their own request line (see `AccessLogMiddleware`) and skip pino-http's. */
  static forRoot(options: { ownAccessLog?: HttpRoute[] } = {}): DynamicModule {
    return { module: LoggingModule, imports: [loggerModule(options.ownAccessLog ?? [])] };
  }
}

function loggerModule(ownAccessLog: HttpRoute[]) {
  return LoggerModule.forRootAsync({
    inject: [ConfigService],
    useFactory: (config: ConfigService<AppConfiguration, true>) => ({
      exclude: [...UNLOGGED_ROUTES, ...ownAccessLog],
      pinoHttp: withFormat(config.get('app', { infer: true }).logFormat, {
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
        customSuccessObject: (req, _res, line: object) => ({ ...line, ...(req as LoggedRequest).logFields }),
        customErrorObject: (req, _res, _err, line: object) => ({ ...line, ...(req as LoggedRequest).logFields }),
        serializers: { req: requestSummary },
      }),
    }),
  });
}

/** pino-http's options alone (JSON on stdout), or with pino-pretty's stream when the format is pretty. */
function withFormat<T>(setting: LogFormatSetting, options: T): T | [T, DestinationStream] {
  const stdoutIsTerminal = process.stdout.isTTY === true;
  if (chooseLogFormat(setting, stdoutIsTerminal) === 'json') return options;
  const stream = prettyStream(stdoutIsTerminal);
  return stream ? [options, stream] : options;
}
