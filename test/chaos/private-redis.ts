import { ChildProcess, spawn } from 'node:child_process';
import { createConnection } from 'node:net';

/**
 * A redis-server of the chaos run's own, on 127.0.0.1 and a port of its own, keeping nothing on disk: flushing,
 * killing and restarting it touches no one else's data, and a restart comes back empty.
 */
export class PrivateRedis {
  private child?: ChildProcess;

  constructor(
    private readonly binary: string,
    readonly port: number,
    private readonly logFile: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    const child = spawn(
      this.binary,
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--logfile', this.logFile],
      // Its own process group: a Ctrl-C reaches the run, which stops Redis itself.
      { stdio: 'ignore', detached: true },
    );
    this.child = child;
    const deadline = Date.now() + 10_000;
    while ((await this.command('PING').catch(() => '')) !== '+PONG') {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode} (see ${this.logFile})`);
      if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not answer PING in 10 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGTERM (nothing is saved: --save ""), then SIGKILL if it lingers. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((done) => {
      child.once('exit', () => done());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    });
  }

  /** For the exit path, where nothing can be awaited. */
  killNow(): void {
    this.child?.kill('SIGKILL');
  }

  /** One inline command over a fresh connection (PING, FLUSHALL, LLEN key); resolves with the first reply line. */
  command(...args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(this.port, '127.0.0.1');
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
}
