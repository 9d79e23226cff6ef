import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');
/** Under node_modules (ignored by git), so the built files find the packages the way dist/ does. */
const BUILDS = join(ROOT, 'node_modules/.cache/pyrus-bots-e2e');

/**
 * Compiles apps/ and libs/ once per test run (per Jest process: every spec file of a --runInBand run shares the
 * build), into a directory of its own: the specs run what the source says now, not a dist/ left from earlier, and
 * never disturb the dist/ of `npm start`. Type errors are `npm run typecheck`'s business, so no check here.
 */
export function buildAppsOnce(): string {
  const dir = join(BUILDS, String(process.pid));
  if (existsSync(join(dir, 'built'))) return dir;
  mkdirSync(BUILDS, { recursive: true });
  for (const old of readdirSync(BUILDS)) {
    if (old !== String(process.pid) && !isAlive(Number(old))) rmSync(join(BUILDS, old), { recursive: true, force: true });
  }
  const bin = (name: string) => join(ROOT, 'node_modules/.bin', name);
  execFileSync(bin('tsc'), ['-p', 'tsconfig.build.json', '--outDir', dir, '--noCheck'], { cwd: ROOT, stdio: 'inherit' });
  execFileSync(bin('tsc-alias'), ['-p', 'tsconfig.build.json', '--outDir', dir], { cwd: ROOT, stdio: 'inherit' });
  writeFileSync(join(dir, 'built'), new Date().toISOString());
  return dir;
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The api or the worker run as `node <build>/apps/<name>/src/main.js`, as `npm run start:<name>` does. */
export class AppProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(build: string, name: 'api' | 'worker', env: Record<string, string>) {
    // Only what the app is given: the test runner's own variables (a DATABASE_URL of the shell) stay out.
    const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
    this.child = spawn(process.execPath, [join(build, 'apps', name, 'src/main.js')], {
      cwd: ROOT,
      env: { ...base, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((done) => this.child.once('exit', (code, signal) => done({ code, signal })));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The JSON log lines on stdout (pino's), parsed; anything else is skipped. */
  logLines(): Array<{ level: number; context?: string; msg: string }> {
    return this.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as { level: number; context?: string; msg: string }];
        } catch {
          return [];
        }
      });
  }

  /** Resolves with the first log line whose message matches; fails if the process exits first or time runs out. */
  async waitForLog(pattern: RegExp, timeoutMs = 30000): Promise<{ level: number; msg: string }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.logLines().find((l) => pattern.test(l.msg));
      if (line) return line;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(
          `The process exited (${this.child.exitCode ?? this.child.signalCode}) before logging ${pattern}; stderr: ${this.stderr}`,
        );
      }
      if (Date.now() > deadline) throw new Error(`Timed out waiting for a log line ${pattern}; stderr: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGTERM, then SIGKILL after 15 s; resolves once the process is gone. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15000);
    this.child.kill('SIGTERM');
    await this.exited;
    clearTimeout(timer);
  }

  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}
