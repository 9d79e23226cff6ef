/**
 * npm run bench:quota — 3000 deliveries through the api and two worker processes against the emulator, whose
 * quota is 500 calls per 10 s for the bot. Prints the achieved call rate as a fraction of the quota (target
 * >= 0.95), the 429s received (target 0) and the comments posted twice (target 0).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PyrusEmulator } from '../../apps/pyrus-emulator/src';
import { signPyrusBody } from '../../libs/pyrus/src/signature';
import { BENCH_DATABASE_URL, BENCH_REDIS_URL, openBenchStores, ROOT, startProcess, stopProcesses, runBenchmark } from './bench-support';

const DELIVERIES = Number(process.env.BENCH_DELIVERIES ?? 3000);
const QUOTA = 500;
const WINDOW_MS = 10_000;
const QUEUE_PREFIX = 'bench-quota';
const BOT = { name: 'payments', login: 'bot@bench-quota', securityKey: 'bench-quota-key', userId: 600001 };
const API_PORT = 3940;

async function main() {
  const stores = await openBenchStores(QUEUE_PREFIX);

  const emulator = new PyrusEmulator({
    bots: [BOT],
    autoDeliver: false,
    quotaLimit: QUOTA,
    quotaWindowMs: WINDOW_MS,
    log: () => undefined,
  });
  await emulator.start();
  const template = JSON.parse(readFileSync(resolve(ROOT, 'test/fixtures/pyrus/task.json'), 'utf8')).task;
  for (let i = 0; i < DELIVERIES; i++) {
    emulator.addTask({
      ...template,
      id: 100_000 + i,
      current_step: 1,
      approvals: [[{ person: { id: BOT.userId, type: 'bot' }, approval_choice: 'waiting' }]],
    });
  }

  const botsFile = join(mkdtempSync(join(tmpdir(), 'bench-quota-')), 'bots.json');
  writeFileSync(
    botsFile,
    JSON.stringify({ bots: [{ name: BOT.name, login: BOT.login, securityKeys: [BOT.securityKey], handler: 'auto-reply' }] }),
  );
  const env = {
    DATABASE_URL: BENCH_DATABASE_URL,
    REDIS_URL: BENCH_REDIS_URL,
    QUEUE_PREFIX,
    BOTS_FILE: botsFile,
    LOG_LEVEL: 'warn',
    PYRUS_AUTH_URL: emulator.authUrl,
    PYRUS_API_URL: emulator.apiUrl,
    PYRUS_QUOTA_WINDOW_MS: String(WINDOW_MS),
  };
  const api = await startProcess(
    join(ROOT, 'dist/apps/api/src/main.js'),
    { ...env, PORT: String(API_PORT) },
    `http://127.0.0.1:${API_PORT}/health/live`,
  );
  const workers = [
    await startProcess(join(ROOT, 'dist/apps/worker/src/main.js'), { ...env, WORKER_PORT: '3941' }, 'http://127.0.0.1:3941/health/live'),
    await startProcess(join(ROOT, 'dist/apps/worker/src/main.js'), { ...env, WORKER_PORT: '3942' }, 'http://127.0.0.1:3942/health/live'),
  ];
  try {
    const token = emulator.issueToken(BOT.name);
    const started = Date.now();
    let next = 0;
    const send = async () => {
      while (next < DELIVERIES) {
        const taskId = 100_000 + next++;
        const body = JSON.stringify({
          event: 'comment',
          access_token: token,
          task_id: taskId,
          user_id: BOT.userId,
          bot_settings: '',
          task: emulator.getTask(taskId),
        });
        const res = await fetch(`http://127.0.0.1:${API_PORT}/bots/${BOT.name}/webhook`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-pyrus-sig': signPyrusBody(body, BOT.securityKey), 'x-pyrus-retry': '1/3' },
          body,
        });
        if (res.status !== 200) throw new Error(`delivery for task ${taskId} answered ${res.status}`);
      }
    };
    await Promise.all(Array.from({ length: 20 }, send));
    const sentIn = Date.now() - started;

    const deadline = Date.now() + (DELIVERIES / QUOTA + 3) * WINDOW_MS;
    while (emulator.comments.length < DELIVERIES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));

    const apiCalls = emulator.calls.filter((c) => c.path.startsWith('/v4/') && c.status >= 200 && c.status < 300);
    const times = apiCalls.map((c) => Date.parse(c.at)).sort((x, y) => x - y);
    // Pyrus's windows (and the emulator's) open with the first call after the previous one ended.
    const windows: Array<{ start: number; calls: number; last: number }> = [];
    for (const t of times) {
      const open = windows[windows.length - 1];
      if (open && t < open.start + WINDOW_MS) {
        open.calls += 1;
        open.last = t;
      } else windows.push({ start: t, calls: 1, last: t });
    }
    // The limiter's part: how soon each window was put to use once the previous one ended.
    const openedSpan = windows[windows.length - 1].start - windows[0].start;
    const idealSpan = (windows.length - 1) * WINDOW_MS;
    const fraction = windows.length > 1 ? idealSpan / openedSpan : 1;
    const perTask = new Map<number, number>();
    for (const c of emulator.comments) perTask.set(c.taskId, (perTask.get(c.taskId) ?? 0) + 1);
    const twice = [...perTask.values()].filter((n) => n > 1).length;
    const rejected = emulator.quota(BOT.name).rejected;

    const lines = [
      `quota benchmark: ${DELIVERIES} deliveries, api + 2 workers, emulator quota ${QUOTA} calls / ${WINDOW_MS / 1000} s`,
      `  deliveries acknowledged in    : ${(sentIn / 1000).toFixed(1)} s`,
      `  comments posted               : ${emulator.comments.length} on ${perTask.size} tasks; API calls ${apiCalls.length}`,
      `  quota windows used            : ${windows.length}; calls per window ${windows.map((w) => w.calls).join(', ')}`,
      `  time to spend each window     : ${windows.map((w) => `${((w.last - w.start) / 1000).toFixed(2)} s`).join(', ')}`,
      `  first to last window opened   : ${(openedSpan / 1000).toFixed(2)} s (at full use: ${(idealSpan / 1000).toFixed(1)} s)`,
      `  achieved rate / quota         : ${fraction.toFixed(3)}   (target >= 0.95)`,
      `  429s received                 : ${rejected}   (target 0)`,
      `  comments posted twice         : ${twice}   (target 0)`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
    const ok = fraction >= 0.95 && rejected === 0 && twice === 0 && emulator.comments.length >= DELIVERIES;
    process.stdout.write(ok ? 'bench:quota: all targets met\n' : 'bench:quota: TARGET MISSED\n');
    process.exitCode = twice === 0 && emulator.comments.length >= DELIVERIES ? 0 : 1;
  } finally {
    await stopProcesses(api, ...workers);
    await emulator.stop();
    await stores.close();
  }
}

runBenchmark(main);
