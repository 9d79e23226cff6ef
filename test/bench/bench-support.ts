import { ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const ROOT = resolve(__dirname, '../..');

/** Starts a built app (or a .ts file through ts-node) as a child process and waits for its port to answer. */
export async function startProcess(script: string, env: Record<string, string>, healthUrl: string): Promise<ChildProcess> {
  const child = fork(script, [], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    execArgv: script.endsWith('.ts') ? ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register'] : [],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}`);
    try {
      await fetch(healthUrl);
      return child; // any answer, even a 404, means it listens
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${healthUrl} did not come up`);
}

/** Peak resident set size (VmHWM) of a running process, in MB. */
export function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

export function stopProcesses(...children: Array<ChildProcess | undefined>): Promise<void[]> {
  return Promise.all(
    children.map(
      (child) =>
        new Promise<void>((done) => {
          if (!child || child.exitCode !== null) return done();
          child.once('exit', () => done());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 15000).unref();
        }),
    ),
  );
}
