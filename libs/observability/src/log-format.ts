import { DestinationStream } from 'pino';

/** LOG_FORMAT as configured: `auto` chooses by whether stdout is a terminal. */
export type LogFormatSetting = 'auto' | 'pretty' | 'json';

/**
 * Pretty lines for a person at a terminal, JSON for everything else (a log collector, a pipe, a file): `auto` is
 * pretty only when stdout is a terminal, so a production process whose stdout is collected writes JSON by default.
 */
export function chooseLogFormat(setting: LogFormatSetting, stdoutIsTerminal: boolean): 'pretty' | 'json' {
  if (setting === 'auto') return stdoutIsTerminal ? 'pretty' : 'json';
  return setting;
}

/**
 * pino-pretty as a synchronous stream in this thread (no transport worker, so nothing is lost when the process exits
 * soon after a line). pino-pretty is a devDependency: the production image (`npm ci --omit=dev`) lacks it, and there
 * `pretty` falls back to JSON with one warning line on stderr rather than failing the boot.
 */
export function prettyStream(
  colorize: boolean,
  load: (name: string) => unknown = require,
  warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): DestinationStream | undefined {
  let build: (options: Record<string, unknown>) => DestinationStream;
  try {
    build = load('pino-pretty') as typeof build;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
    warn('LOG_FORMAT=pretty: pino-pretty is not installed (a production install); writing JSON logs instead');
    return undefined;
  }
  // One line per entry: the Nest context before the message, other fields after it.
  return build({
    sync: true,
    colorize,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,context',
    messageFormat: '{if context}[{context}] {end}{msg}',
    singleLine: true,
  });
}
