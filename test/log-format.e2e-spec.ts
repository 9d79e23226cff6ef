import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppProcess, buildAppsOnce } from './support/app-process';
import { freePort } from './support/child-processes';
import { testEnv } from './support/stack';

/**
 * LOG_FORMAT, seen as an operator sees it: the built api run as `npm run start:api` runs it, its stdout read as
 * a log collector (or a person) would. Its stdout is a pipe here, so `auto` must choose JSON.
 */
describe('log format', () => {
  let build: string;
  let scratch: string;
  const running: AppProcess[] = [];

  beforeAll(() => {
    build = buildAppsOnce();
    scratch = mkdtempSync(join(tmpdir(), 'log-format-'));
  }, 180000);

  afterEach(async () => {
    await Promise.all(running.splice(0).map((app) => app.stop()));
  });

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  /** Starts the api and waits until it has logged that it listens; returns its stdout and stderr lines. */
  async function apiOutput(env: Record<string, string>) {
    const port = await freePort();
    const app = new AppProcess(build, 'api', { ...testEnv({ LOG_LEVEL: 'info' }), PORT: String(port), ...env });
    running.push(app);
    const deadline = Date.now() + 60000;
    while (!app.stdout.includes(`api listening on port ${port}`)) {
      if (app.child.exitCode !== null) throw new Error(`the api exited (${app.child.exitCode}): ${app.stderr}`);
      if (Date.now() > deadline) throw new Error(`the api did not log that it listens; stdout: ${app.stdout}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await app.stop();
    const lines = (text: string) => text.split('\n').filter((line) => line !== '');
    return { stdout: lines(app.stdout), stderr: lines(app.stderr), port };
  }

  it('LOG_FORMAT=json: every stdout line is a JSON object with a numeric level and a message', async () => {
    const { stdout } = await apiOutput({ LOG_FORMAT: 'json' });
    expect(stdout.length).toBeGreaterThan(1);
    for (const line of stdout) expect(JSON.parse(line)).toMatchObject({ level: expect.any(Number), msg: expect.any(String) });
  }, 90000);

  it('auto with stdout not a terminal (a pipe, as under a log collector): JSON', async () => {
    const { stdout } = await apiOutput({});
    expect(stdout.length).toBeGreaterThan(1);
    for (const line of stdout) expect(() => JSON.parse(line)).not.toThrow();
  }, 90000);

  it('LOG_FORMAT=pretty: one readable line per entry (time, level, context, message), no JSON, no colours into a pipe', async () => {
    const { stdout, port } = await apiOutput({ LOG_FORMAT: 'pretty' });
    expect(stdout.find((line) => line.startsWith('{'))).toBeUndefined();
    expect(stdout.join('\n')).not.toContain('\u001b[');
    expect(stdout).toContainEqual(
      expect.stringMatching(new RegExp(`^\\[\\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\] INFO: \\[api\\] api listening on port ${port}$`)),
    );
    // Every line is an entry: fields stay on their entry's line rather than following it on lines of their own.
    for (const line of stdout) expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] (TRACE|DEBUG|INFO|WARN|ERROR|FATAL): /);
  }, 90000);

  it('LOG_FORMAT=pretty without pino-pretty installed (a production image): JSON, after one warning line', async () => {
    // The production install (npm ci --omit=dev) has no pino-pretty; this preload makes node fail to find it here too.
    const hide = join(scratch, 'without-pino-pretty.js');
    writeFileSync(
      hide,
      `const Module = require('module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === 'pino-pretty') throw Object.assign(new Error("Cannot find module 'pino-pretty'"), { code: 'MODULE_NOT_FOUND' });
  return resolve.call(this, request, ...rest);
};
`,
    );
    const { stdout, stderr } = await apiOutput({ LOG_FORMAT: 'pretty', NODE_OPTIONS: `--require ${hide}` });
    expect(stderr).toEqual(['LOG_FORMAT=pretty: pino-pretty is not installed (a production install); writing JSON logs instead']);
    expect(stdout.length).toBeGreaterThan(1);
    for (const line of stdout) expect(() => JSON.parse(line)).not.toThrow();
  }, 90000);
});
