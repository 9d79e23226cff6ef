import { AddressInfo, createConnection, createServer, Server, Socket } from 'node:net';

/**
 * A TCP relay on loopback that a test can cut and restore, so one app instance loses Postgres or Redis while the
 * real server (and every other client of it) stays up.
 */
export class TcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;
  /** What the server sent back on the connections whose answer this relay kept from the caller, as text. */
  readonly lostAnswers: string[] = [];
  private answersToLose = 0;

  constructor(
    private readonly targetPort: number,
    private readonly targetHost = '127.0.0.1',
  ) {}

  async start(): Promise<this> {
    this.server = createServer((client) => {
      const upstream = createConnection(this.targetPort, this.targetHost);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream);
      if (this.answersToLose > 0) {
        this.answersToLose -= 1;
        // The request reaches the server whole; its answer is kept here, and the caller's connection closes unanswered.
        const chunks: Buffer[] = [];
        upstream.on('data', (chunk: Buffer) => chunks.push(chunk));
        upstream.on('close', () => this.lostAnswers.push(Buffer.concat(chunks).toString('utf8')));
      } else {
        upstream.pipe(client);
      }
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** Drops every connection and stops listening: the port is now closed. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * The next `count` connections lose their answer on the way back: the server gets the request and answers it, the
   * caller sees its connection close without one (an answer lost in the network). The answers land in lostAnswers.
   */
  loseNextAnswers(count = 1): void {
    this.answersToLose += count;
  }

  async restore(): Promise<void> {
    if (!this.server) await this.start();
  }

  url(scheme: string, path = ''): string {
    return `${scheme}://127.0.0.1:${this.port}${path}`;
  }
}
