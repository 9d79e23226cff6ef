import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** One request the fake ERP received, and the status it answered ('late': answered after the client had given up). */
export interface ErpCall {
  idempotencyKey: string;
  authorization?: string;
  body: Record<string, unknown>;
  status: number | 'late';
}

/**
 * A local ERP for the payment-order connector, idempotent as the connector expects of an ERP (the same
 * Idempotency-Key gets the same order). Records every call. `failing` answers 503 that many times (each failed call
 * counts one down); `refusing` answers 422; `slow` creates the order and answers that many calls `lateAnswerMs` later,
 * after the client's timeout (an answer lost on the way); `hold` keeps the next successful answer until `release()`;
 * `latencyMs` answers every order that long after making it (an ERP's own time).
 */
export class FakeErp {
  readonly calls: ErpCall[] = [];
  /** Idempotency key -> the order's document id. */
  readonly orders = new Map<string, string>();
  failing = 0;
  refusing = false;
  slow = 0;
  /** How long a `slow` call's answer waits: set it above the client's ERP_TIMEOUT_MS. */
  lateAnswerMs = 2000;
  hold = false;
  latencyMs = 0;
  url = '';
  private released?: () => void;
  private server?: Server;

  async start(): Promise<void> {
    // A request the fake cannot read is answered 500 rather than left hanging with an unhandled rejection.
    this.server = createServer((req, res) => {
      this.answer(req, res).catch((err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err)));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** True while a held answer waits for release(). */
  get holding(): boolean {
    return this.released !== undefined;
  }

  /** Sends the held answer, if any, and holds no more. */
  release(): void {
    this.hold = false;
    this.released?.();
    this.released = undefined;
  }

  /** The calls about one Pyrus task (the connector sends the task id in the body). */
  callsFor(taskId: number): ErpCall[] {
    return this.calls.filter((c) => c.body.taskId === taskId);
  }

  /** The orders that exist for one Pyrus task: document ids, one per idempotency key its calls used. */
  ordersFor(taskId: number): string[] {
    const keys = new Set(this.callsFor(taskId).map((c) => c.idempotencyKey));
    return [...keys].filter((k) => this.orders.has(k)).map((k) => this.orders.get(k)!);
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of req) text += chunk;
    const idempotencyKey = String(req.headers['idempotency-key']);
    const record: ErpCall = {
      idempotencyKey,
      authorization: req.headers.authorization,
      body: JSON.parse(text) as Record<string, unknown>,
      status: 0,
    };
    this.calls.push(record);
    if (this.failing > 0) {
      this.failing -= 1;
      record.status = 503;
      res.writeHead(503, { 'content-type': 'text/html' }).end('<h1>Service Unavailable</h1>');
      return;
    }
    if (this.refusing) {
      record.status = 422;
      res.writeHead(422, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'unknown supplier account' }));
      return;
    }
    const id = this.orders.get(idempotencyKey) ?? `PO-${this.orders.size + 1}`;
    this.orders.set(idempotencyKey, id);
    if (this.slow > 0) {
      this.slow -= 1;
      record.status = 'late';
      await sleep(this.lateAnswerMs);
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id }));
      return;
    }
    if (this.hold) await new Promise<void>((resolve) => (this.released = resolve));
    if (this.latencyMs > 0) await sleep(this.latencyMs);
    record.status = 201;
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id }));
  }

  stop(): Promise<void> {
    return new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
