import { ChildProcess, fork } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { resolve } from 'node:path';
import { createServer } from 'node:net';

export const ROOT = resolve(__dirname, '../..');

export interface StartProcessOptions {
  /** Where the process's stdout and stderr go (appended); by default stdout is dropped and stderr inherited. */
  logFile?: string;
}

/** Starts a built app (or a .ts file through ts-node) as a child process and waits for its port to answer. */
export async function startProcess(
  script: string,
  env: Record<string, string>,
  healthUrl: string,
  options: StartProcessOptions = {},
): Promise<ChildProcess> {
  const logFd = options.logFile ? openSync(options.logFile, 'a') : undefined;
  const child = fork(script, [], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    // BENCH_NODE_ARGS (say "--cpu-prof --cpu-prof-dir=/tmp/prof") reaches the service processes, for profiling them.
    execArgv: [
      ...(script.endsWith('.ts') ? ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register'] : []),
      ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
    ],
    stdio: logFd === undefined ? ['ignore', 'ignore', 'inherit', 'ipc'] : ['ignore', logFd, logFd, 'ipc'],
  });
  // The child holds its own copy of the descriptor.
  if (logFd !== undefined) closeSync(logFd);
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}`);
    try {
      await fetch(healthUrl);
      return child; // any answer, even a 404, means it listens
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  child.kill('SIGKILL');
  throw new Error(`${healthUrl} did not come up`);
}

export function stopProcesses(...children: Array<ChildProcess | undefined>): Promise<void[]> {
  return Promise.all(
    children.map(
      (child) =>
        new Promise<void>((done) => {
          if (!child || child.exitCode !== null || child.signalCode !== null) return done();
          child.once('exit', () => done());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 15000).unref();
        }),
    ),
  );
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}
