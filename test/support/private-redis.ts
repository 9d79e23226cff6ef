import { ChildProcess, spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { freePort } from './child-processes';

export interface PrivateRedisOptions {
  /** 0 or absent: a free port, picked at the first start() and kept across restarts. */
  port?: number;
  /** The redis-server executable; by default the one on PATH. */
  binary?: string;
  /** Where redis-server writes its log; by default it is dropped. */
  logFile?: string;
  /**
   * Its own process group, so a terminal's Ctrl-C reaches only the owner, which then stops Redis itself (the chaos
   * run). A test leaves it in jest's group, so an interrupted run takes its Redis with it.
   */
  detached?: boolean;
}

/**
 * A redis-server of its own on 127.0.0.1, keeping nothing on disk: flushing, killing and restarting it touches no
 * one else's data, and a restart comes back empty, as a failover to an empty replica would.
 */
export class PrivateRedis {
  private child?: ChildProcess;
  private currentPort: number;
  private readonly binary: string;
  private readonly logFile?: string;
  private readonly detached: boolean;

  constructor(options: PrivateRedisOptions = {}) {
    this.currentPort = options.port ?? 0;
    this.detached = options.detached ?? false;
    this.binary = options.binary ?? 'redis-server';
    this.logFile = options.logFile;
  }

  /** 0 until the first start() when no port was given. */
  get port(): number {
    return this.currentPort;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.currentPort}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<this> {
    this.currentPort ||= await freePort();
    const args = ['--port', String(this.currentPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
    if (this.logFile) args.push('--logfile', this.logFile);
    const child = spawn(this.binary, args, { stdio: 'ignore', detached: this.detached });
    this.child = child;
    let spawnError: Error | undefined;
    // Without a listener a missing binary's 'error' event would crash the process.
    child.once('error', (err) => (spawnError = err));
    const deadline = Date.now() + 10_000;
    while ((await this.command('PING').catch(() => '')) !== '+PONG') {
      const seeLog = this.logFile ? ` (see ${this.logFile})` : '';
      if (spawnError) throw new Error(`${this.binary} did not start: ${spawnError.message}`);
      if (child.exitCode !== null) throw new Error(`redis-server on port ${this.currentPort} exited with ${child.exitCode}${seeLog}`);
      if (Date.now() > deadline) throw new Error(`redis-server on port ${this.currentPort} did not answer PING in 10 s${seeLog}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return this;
  }

  /** Everything in it is gone, as after FLUSHALL. */
  async flushAll(): Promise<void> {
    const reply = await this.command('FLUSHALL');
    if (reply !== '+OK') throw new Error(`redis FLUSHALL: ${reply}`);
  }

  /** SIGKILL: nothing is saved, every connection drops, as in a crash. */
  async kill(): Promise<void> {
    const child = this.takeRunning();
    if (!child) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGKILL');
    await exited;
  }

  /** Killed and started again on the same port, empty. */
  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  /** SIGTERM (nothing is saved: --save ""), then SIGKILL if it lingers. */
  async stop(): Promise<void> {
    const child = this.takeRunning();
    if (!child) return;
    await new Promise<void>((done) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(timer);
        done();
      });
      child.kill('SIGTERM');
    });
  }

  /** For an exit path, where nothing can be awaited. */
  killNow(): void {
    this.child?.kill('SIGKILL');
  }

  /** One inline command over a fresh connection (PING, FLUSHALL, LLEN key); resolves with the first reply line. */
  command(...args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(this.currentPort, '127.0.0.1');
      let reply = '';
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`redis ${args[0]}: no answer in 5 s`));
      }, 5000);
      socket.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.on('data', (chunk) => {
        reply += chunk.toString('utf8');
        const end = reply.indexOf('\r\n');
        if (end < 0) return;
        clearTimeout(timer);
        socket.destroy();
        resolve(reply.slice(0, end));
      });
      socket.write(`${args.map((a) => JSON.stringify(a)).join(' ')}\r\n`);
    });
  }

  /** LLEN of a key, 0 when Redis cannot say. */
  async listLength(key: string): Promise<number> {
    const reply = await this.command('LLEN', key).catch(() => ':0');
    return reply.startsWith(':') ? Number(reply.slice(1)) : 0;
  }

  /** The child if it has not exited; forgets it either way, so a later start() begins afresh. */
  private takeRunning(): ChildProcess | undefined {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return undefined;
    return child;
  }
}
