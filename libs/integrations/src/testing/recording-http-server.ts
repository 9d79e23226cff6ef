import { once } from 'node:events';
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';

/** Test support only: a real HTTP server on 127.0.0.1 that records each request and answers from a script. */

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface ScriptedReply {
  status: number;
  /** An object is sent as JSON; a string as it is (an HTML error page, say). */
  body?: unknown;
  headers?: Record<string, string>;
  /** Answer only after this long (to test timeouts). */
  delayMs?: number;
}

export class RecordingHttpServer {
  readonly requests: RecordedRequest[] = [];
  private readonly queued: ScriptedReply[] = [];
  private fallback: ScriptedReply = { status: 200, body: {} };
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(private readonly server: Server) {}

  static async start(): Promise<RecordingHttpServer> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const srv = self;
        srv.requests.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        const reply = srv.queued.shift() ?? srv.fallback;
        const send = () => {
          const isText = typeof reply.body === 'string';
          const payload = reply.body === undefined ? '' : isText ? (reply.body as string) : JSON.stringify(reply.body);
          res.writeHead(reply.status, { 'content-type': isText ? 'text/html' : 'application/json', ...reply.headers });
          res.end(payload);
        };
        if (!reply.delayMs) return send();
        const timer = setTimeout(() => {
          srv.timers.delete(timer);
          send();
        }, reply.delayMs);
        srv.timers.add(timer);
      });
    });
    const self = new RecordingHttpServer(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return self;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Answers the next requests with these, in order; then with the `always` reply. */
  reply(...replies: ScriptedReply[]): this {
    this.queued.push(...replies);
    return this;
  }

  always(reply: ScriptedReply): this {
    this.fallback = reply;
    return this;
  }

  bodyOf(index: number): unknown {
    return JSON.parse(this.requests[index].body);
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A port on 127.0.0.1 that nothing listens on (it was just bound and released), for "connection refused". */
export async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
