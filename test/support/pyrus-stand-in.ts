import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { PyrusComment, PyrusTask } from '@app/pyrus';

export interface ReceivedComment {
  taskId: number;
  authorization: string | undefined;
  body: Record<string, unknown>;
}

/**
 * A small stand-in for the Pyrus API (auth, get task, post comment) that records what it receives and can be told
 * to fail. Issue 3's emulator replaces it.
 */
export class PyrusStandIn {
  readonly comments: ReceivedComment[] = [];
  readonly calls: Array<{ method: string; path: string; status: number }> = [];
  readonly tasks = new Map<number, PyrusTask>();
  botUserId = 123456;
  botToken = 'bot-session-token';
  /** Bearer tokens Pyrus no longer accepts (401 expired_token). */
  readonly expiredTokens = new Set<string>();
  /** How long each comment post takes to answer (a slow Pyrus). */
  commentDelayMs = 0;
  private failures: Array<{ taskId: number; status: number; body: string; applyFirst: boolean }> = [];
  private server?: Server;
  private nextCommentId = 900000;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  reset(): void {
    this.comments.length = 0;
    this.calls.length = 0;
    this.tasks.clear();
    this.failures = [];
    this.commentDelayMs = 0;
    this.expiredTokens.clear();
  }

  /**
   * The next `count` comment posts on the task answer `status`. With `applyFirst`, the comment is stored before the
   * error is sent (Pyrus did the work, but the answer was lost).
   */
  failCommentPosts(taskId: number, count: number, status = 500, options: { applyFirst?: boolean; body?: string } = {}): void {
    for (let i = 0; i < count; i++) {
      this.failures.push({ taskId, status, applyFirst: options.applyFirst ?? false, body: options.body ?? JSON.stringify({ error: 'Server error', error_code: 'server_error' }) });
    }
  }

  get authUrl(): string {
    return `${this.url}/auth`;
  }

  get apiUrl(): string {
    return `${this.url}/v4`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const path = req.url ?? '';
    const reply = (status: number, body: unknown) => {
      this.calls.push({ method: req.method ?? '', path, status });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };

    if (req.method === 'POST' && path === '/auth') {
      return reply(200, { access_token: this.botToken, api_url: `${this.apiUrl}/`, files_url: this.url });
    }
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    if (this.expiredTokens.has(token)) return reply(401, { error: 'Token has expired', error_code: 'expired_token' });
    const match = /^\/v4\/tasks\/(\d+)(\/comments)?$/.exec(path);
    if (!match) return reply(404, { error: 'Not found', error_code: 'not_found' });
    const taskId = Number(match[1]);
    const task = this.tasks.get(taskId) ?? { id: taskId, comments: [] };
    this.tasks.set(taskId, task);

    if (req.method === 'GET' && !match[2]) return reply(200, { task });
    if (req.method !== 'POST' || !match[2]) return reply(405, { error: 'Method not allowed', error_code: 'invalid_request' });

    if (this.commentDelayMs > 0) await new Promise((r) => setTimeout(r, this.commentDelayMs));
    const failureIndex = this.failures.findIndex((f) => f.taskId === taskId);
    const failure = failureIndex >= 0 ? this.failures.splice(failureIndex, 1)[0] : undefined;
    const body = JSON.parse(text) as Record<string, unknown>;
    if (!failure || failure.applyFirst) {
      const comment: PyrusComment = {
        id: this.nextCommentId++,
        text: body.text as string | undefined,
        create_date: new Date().toISOString().split('.')[0] + 'Z',
        author: { id: this.botUserId, type: 'bot' },
        approval_choice: body.approval_choice as PyrusComment['approval_choice'],
      };
      task.comments = [...(task.comments ?? []), comment];
      this.comments.push({ taskId, authorization: req.headers.authorization, body });
    }
    if (failure) return reply(failure.status, failure.body);
    return reply(200, { task });
  }
}
