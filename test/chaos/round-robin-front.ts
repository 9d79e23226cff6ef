import { AddressInfo, createConnection, createServer, Server, Socket } from 'node:net';

/**
 * A TCP front for several api processes, as a load balancer would be: each connection goes to the next port in
 * turn, and when that one refuses (its api is restarting) to the one after, so traffic flows through whichever is up.
 * A connection no api takes is closed, and the sender sees it fail.
 */
export class RoundRobinFront {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private next = 0;
  port = 0;

  constructor(private readonly targetPorts: number[]) {}

  async start(): Promise<this> {
    this.server = createServer((client) => {
      this.track(client);
      client.pause();
      this.connect(client, 0);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  url(path = ''): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private connect(client: Socket, tried: number): void {
    if (client.destroyed) return;
    if (tried >= this.targetPorts.length) {
      client.destroy();
      return;
    }
    const port = this.targetPorts[this.next++ % this.targetPorts.length];
    const upstream = createConnection(port, '127.0.0.1');
    const refused = () => {
      upstream.destroy();
      this.connect(client, tried + 1);
    };
    upstream.once('error', refused);
    upstream.once('connect', () => {
      upstream.off('error', refused);
      this.track(upstream);
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.resume();
    });
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  }
}
