import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The directory holding initdb and pg_ctl: the newest /usr/lib/postgresql/<version>/bin, else the PATH. */
export function findPostgresBinaries(): string | undefined {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((v) => existsSync(join(base, v, 'bin', 'initdb')) && existsSync(join(base, v, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length > 0) return join(base, versions[0], 'bin');
  const initdb = onPath('initdb');
  return initdb && onPath('pg_ctl') ? join(initdb, '..') : undefined;
}

/** The full path of a program on the PATH, or undefined. */
export function onPath(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    if (existsSync(join(dir, program))) return join(dir, program);
  }
  return undefined;
}

/** PostgreSQL refuses to run as root: then the cluster belongs to the "postgres" account, when there is one. */
export function postgresAccount(): { uid: number; gid: number } | undefined | 'none' {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) return 'none';
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * A PostgreSQL cluster of the chaos run's own (initdb into a temporary directory, trust authentication, 127.0.0.1
 * and a socket in that directory), so restarting it touches no one else's database.
 */
export class PrivatePostgres {
  private readonly dataDir: string;
  private readonly logFile: string;
  private running = false;

  constructor(
    private readonly binDir: string,
    private readonly dir: string,
    readonly port: number,
    private readonly account: { uid: number; gid: number } | undefined,
  ) {
    this.dataDir = join(dir, 'pgdata');
    this.logFile = join(dir, 'postgres.log');
  }

  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async init(): Promise<void> {
    const sockets = join(this.dir, 'sockets');
    mkdirSync(sockets, { recursive: true });
    if (this.account) for (const path of [this.dir, sockets]) chownSync(path, this.account.uid, this.account.gid);
    await this.run('initdb', ['-D', this.dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  }

  async start(): Promise<void> {
    await this.pgCtl('start');
    this.running = true;
  }

  /** pg_ctl restart -m fast: every connection is cut, the server comes back; resolves when it accepts again. */
  restart(): Promise<void> {
    return this.pgCtl('restart', ['-m', 'fast']);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.run('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop'], false);
  }

  /** For the exit path, where nothing can be awaited; a postmaster pg_ctl could not stop is killed. */
  stopNow(): void {
    if (!this.running) return;
    this.running = false;
    spawnSync(join(this.binDir, 'pg_ctl'), ['-D', this.dataDir, '-m', 'immediate', '-w', '-t', '10', 'stop'], {
      cwd: this.dir,
      timeout: 15_000,
      ...this.asAccount(),
    });
    try {
      const pid = Number(readFileSync(join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      if (pid > 0) process.kill(pid, 'SIGKILL');
    } catch {
      // no pid file: it stopped
    }
  }

  private pgCtl(action: 'start' | 'restart', extra: string[] = []): Promise<void> {
    // fsync off: the cluster dies with the run, and the shared machine's disk is not the fault under test.
    const options = `-p ${this.port} -k ${join(this.dir, 'sockets')} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off`;
    return this.run('pg_ctl', ['-D', this.dataDir, '-o', options, '-l', this.logFile, '-w', '-t', '30', ...extra, action]);
  }

  /**
   * Asynchronous: the emulator shares this process, and a blocked event loop would pause Pyrus too. Detached: a
   * Ctrl-C in the terminal reaches the run, which stops the server in its turn, not the server half-way through a
   * restart.
   */
  private run(program: string, args: string[], check = true): Promise<void> {
    return new Promise((resolve, reject) => {
      const options = { cwd: this.dir, encoding: 'utf8' as const, timeout: 60_000, detached: true, ...this.asAccount() };
      execFile(join(this.binDir, program), args, options, (err, stdout, stderr) => {
        if (err && check) reject(new Error(`${program} ${args.at(-1)} failed: ${(stderr || stdout || err.message).trim()}`));
        else resolve();
      });
    });
  }

  private asAccount() {
    return this.account ? { uid: this.account.uid, gid: this.account.gid } : {};
  }
}
