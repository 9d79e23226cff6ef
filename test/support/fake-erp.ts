import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/** One request the fake ERP received, and the status it answered. */
export interface ErpCall {
  idempotencyKey: string;
  authorization?: string;
  body: Record<string, unknown>;
  status: number;
}

/**
 * A local ERP for the payment-order connector: records every call; answers 503 while `failing` is above zero (each
 * failed call counts one down); otherwise creates an order, idempotently, as the connector expects of an ERP: the same
 * Idempotency-Key gets the same order.
 */
export class FakeErp {
  readonly calls: ErpCall[] = [];
  /** Idempotency key -> the order's document id. */
  readonly orders = new Map<string, string>();
  failing = 0;
  url = '';
  private server?: Server;

  async start(): Promise<void> {
    // A request the fake cannot read is answered 500 rather than left hanging with an unhandled rejection.
    this.server = createServer((req, res) => {
      this.answer(req, res).catch((err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err)));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
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
    const id = this.orders.get(idempotencyKey) ?? `PO-${this.orders.size + 1}`;
    this.orders.set(idempotencyKey, id);
    record.status = 201;
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id }));
  }

  stop(): Promise<void> {
    return new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
