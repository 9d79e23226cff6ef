import { ChildProcess, spawn } from 'node:child_process';
import { createServer, Server } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAppsOnce } from './support/app-process';
import { freePort, ROOT } from './support/child-processes';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from './support/test-env';

/** The demo's own database for this run: the test database's name with _demo (it must say both test and demo). */
const DEMO_DATABASE_URL = (() => {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `${url.pathname}_demo`;
  return url.toString();
})();

interface DemoRun {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<number | null>;
}

/** `npm run demo` without its build step: scripts/demo.ts through ts-node, on the tree the e2e run compiled. */
function runDemo(env: Record<string, string>): DemoRun {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', 'scripts/demo.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run: DemoRun = { child, stdout: '', stderr: '', exited: new Promise((done) => child.once('exit', (code) => done(code))) };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (run.stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (run.stderr += chunk));
  return run;
}

async function waitForOutput(run: DemoRun, pattern: RegExp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(run.stdout)) {
    if (run.child.exitCode !== null)
      throw new Error(`the demo exited (${run.child.exitCode}); stdout: ${run.stdout}\nstderr: ${run.stderr}`);
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${pattern}; stdout: ${run.stdout}\nstderr: ${run.stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs the demo until it exits by itself; kills it if it is still up after a minute. */
async function runToExit(env: Record<string, string>) {
  const run = runDemo(env);
  const timer = setTimeout(() => run.child.kill('SIGKILL'), 60000);
  const code = await run.exited;
  clearTimeout(timer);
  return { code, stdout: run.stdout, stderrLines: run.stderr.split('\n').filter((line) => line !== '') };
}

describe('npm run demo', () => {
  let build: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    build = buildAppsOnce();
    env = {
      DEMO_BUILD_DIR: build,
      DEMO_DATABASE_URL,
      DEMO_REDIS_URL: TEST_REDIS_URL,
      DEMO_QUEUE_PREFIX: `test-demo-${process.pid}`,
      DEMO_API_PORT: String(await freePort()),
      DEMO_WORKER_PORT: String(await freePort()),
      DEMO_EMULATOR_PORT: String(await freePort()),
    };
  }, 180000);

  it('walks three invoices along the payment route and a task to the auto-reply bot, prints each decision, and Ctrl-C stops every process', async () => {
    const run = runDemo(env);
    let pids: number[] = [];
    try {
      await waitForOutput(run, /demo: ready/, 150000);
      const out = run.stdout;
      const emulator = `http://127.0.0.1:${env.DEMO_EMULATOR_PORT}`;
      // A clean invoice walks the whole route: both checks approve, the ERP order's number is in the payment-order bot's
      // approval, and the task waits for the treasurer.
      expect(out).toMatch(
        new RegExp(
          [
            '^1\\. a clean invoice: task 5001',
            // The route's bots answer inline (reply auto); the auto-reply bot posts through the API (reply api).
            " {3}accountant approved -> duplicate-check bot: approved \\(in the webhook's answer\\)",
            ' {6}comment: No duplicate payment found\\.',
            " {3}head of department approved -> budget-check bot: approved \\(in the webhook's answer\\)",
            ' {6}comment: Within budget\\. .*limit 100 000\\.00 RUB, already approved 0\\.00, this request 40 000\\.00\\.',
            " {3}CFO approved -> payment-order bot: approved \\(in the webhook's answer\\)",
            ' {6}comment: Payment order PO-0001 created in the ERP\\.',
            ' {3}now on step 7, waiting for the treasurer',
          ].join('\\n'),
          'm',
        ),
      );
      expect(out).toMatch(
        /^2\. the same invoice again: task 5002\n {3}accountant approved -> duplicate-check bot: sent back to step 1 \(the accountant\) \(in the webhook's answer\)\n {6}comment: This request looks like a duplicate/m,
      );
      expect(out).toContain('https://pyrus.com/t#id5001: same supplier and invoice number "INV-1001" (approved)');
      expect(out).toMatch(/^ {3}now on step 1, waiting for the accountant$/m);
      expect(out).toMatch(
        /^ {3}head of department approved -> budget-check bot: sent back to step 3 \(the head of department\) \(in the webhook's answer\)\n {6}comment: Budget exceeded .*over by 15 000\.00 RUB/m,
      );
      expect(out).toMatch(/^ {3}now on step 3, waiting for the head of department$/m);
      expect(out).toMatch(
        /^4\. a task for the auto-reply bot: task 5004 -> auto-reply bot: approved \(posted through the API\)\n {3}comment: Hello, colleague@demo\.example\./m,
      );
      expect(out).toContain(`   task:    ${emulator}/_emulator/tasks/5001`);
      expect(out).toContain(`npm run pyrus -- send --emulator ${emulator} --bot duplicate-check --task `);

      // The printed link is one a user can open: the task as the emulator holds it, with the bots' comments and the
      // document number in its field.
      const linked = (await (await fetch(`${emulator}/_emulator/tasks/5003`)).json()) as { task: { comments: Array<{ text: string }> } };
      expect(linked.task.comments.map((c: { text: string }) => c.text).join('\n')).toContain('Budget exceeded');
      const paid = (await (await fetch(`${emulator}/_emulator/tasks/5001`)).json()) as {
        task: { fields: Array<{ code: string; value?: unknown }> };
      };
      expect(paid.task.fields.find((f) => f.code === 'erp_document')?.value).toBe('PO-0001');

      pids = [...out.matchAll(/(emulator|api|worker) \(pid (\d+)\)/g)].map((m) => Number(m[2]));
      expect(pids).toHaveLength(3);
      pids.forEach((pid) => expect(isAlive(pid)).toBe(true));
    } catch (err) {
      // A failed check stops the demo too: left running, it would hold the ports the next tests use.
      run.child.kill('SIGINT');
      await run.exited;
      throw err;
    }

    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
    expect(run.stdout).toMatch(/demo: stopped emulator \(pid \d+\), api \(pid \d+\), worker \(pid \d+\)/);
    expect(pids.filter(isAlive)).toEqual([]);
    expect(run.stderr).toBe('');
  }, 240000);

  describe('says in one line what to do, before starting anything', () => {
    it('a busy port', async () => {
      const taken: Server = createServer();
      await new Promise<void>((done) => taken.listen(0, done));
      const port = (taken.address() as { port: number }).port;
      try {
        const result = await runToExit({ ...env, DEMO_API_PORT: String(port) });
        expect(result.code).toBe(1);
        expect(result.stderrLines).toEqual([
          `demo: port ${port} (for the api) is in use; stop what holds it or set DEMO_API_PORT to a free port`,
        ]);
        expect(result.stdout).toBe('');
      } finally {
        await new Promise<void>((done) => taken.close(() => done()));
      }
    }, 90000);

    it('no PostgreSQL', async () => {
      const closed = await freePort();
      const result = await runToExit({ ...env, DEMO_DATABASE_URL: `postgres://postgres@127.0.0.1:${closed}/pyrus_bots_demo` });
      expect(result.code).toBe(1);
      expect(result.stderrLines).toEqual([
        `demo: PostgreSQL does not answer at 127.0.0.1:${closed} (ECONNREFUSED); start it, or point DEMO_DATABASE_URL at one`,
      ]);
      expect(result.stdout).toBe('');
    }, 90000);

    it('no Redis', async () => {
      const closed = await freePort();
      const result = await runToExit({ ...env, DEMO_REDIS_URL: `redis://127.0.0.1:${closed}` });
      expect(result.code).toBe(1);
      expect(result.stderrLines).toEqual([
        `demo: Redis does not answer at 127.0.0.1:${closed} (ECONNREFUSED); start it, or point DEMO_REDIS_URL at one`,
      ]);
      expect(result.stdout).toBe('');
    }, 90000);

    it('an unbuilt tree', async () => {
      const empty = mkdtempSync(join(tmpdir(), 'demo-unbuilt-'));
      try {
        const result = await runToExit({ ...env, DEMO_BUILD_DIR: empty });
        expect(result.code).toBe(1);
        expect(result.stderrLines).toHaveLength(1);
        expect(result.stderrLines[0]).toMatch(
          /^demo: the tree is not built \(.*apps\/api\/src\/main\.js is missing\); run `npm run demo`, which builds first, or `npm run build`$/,
        );
      } finally {
        rmSync(empty, { recursive: true, force: true });
      }
    }, 90000);
  });
});
