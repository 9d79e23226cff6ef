import { execFile } from 'node:child_process';
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { verifyPyrusSignature } from '@app/pyrus';

const ROOT = join(__dirname, '..', '..', '..');
const TASK_FILE = join(ROOT, 'apps', 'pyrus-emulator', 'seed', 'tasks', '1002.json');

function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', 'apps/pyrus-emulator/src/cli.ts', ...args],
      { cwd: ROOT, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('npm run pyrus -- send', () => {
  let server: Server;
  let url: string;
  const received: { headers: IncomingHttpHeaders; raw: Buffer }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, raw: Buffer.concat(chunks) });
        res.statusCode = received.length === 1 ? 503 : 200;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/bots/payments/webhook`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('sends one signed delivery with the retry schedule (scaled) and exits 0 once delivered', async () => {
    const result = await runCli(['send', '--bot', 'payments', '--task', TASK_FILE, '--url', url, '--time-scale', '0.002']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('delivery delivered');
    expect(received.map((r) => r.headers['x-pyrus-retry'])).toEqual(['1/3', '2/3']);
    expect(verifyPyrusSignature(received[1].raw, received[1].headers['x-pyrus-sig'] as string, ['payments-demo-key-change-me'])).toBe(true);
    expect(JSON.parse(received[0].raw.toString('utf8'))).toMatchObject({ task_id: 1002, user_id: 100002, event: 'comment' });
  }, 60_000);

  it('refuses an unknown bot with a message', async () => {
    const result = await runCli(['send', '--bot', 'nobody', '--task', TASK_FILE, '--url', url]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Unknown bot "nobody"');
  }, 60_000);
});
