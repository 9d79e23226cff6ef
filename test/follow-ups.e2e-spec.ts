import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { PyrusTask } from '@app/pyrus';
import { CREATE_PAYMENT_ORDER_JOB } from '@app/bots';
import { FOLLOWUPS_QUEUE } from '@app/queue';
import { getQueueToken } from '@nestjs/bull';
import { Queue } from 'bull';
import { sendSigned, ServiceUnderTest, startServiceWithEmulator, waitFor } from './support/stack';
import { MANAGER_USER_ID, PAYMENTS_ERP_BOT_USER_ID } from './support/test-emulator';

const BOT = 'payments-erp';
const KEY = 'payments-erp-key';

/** A local ERP: records every call; fails while `failing` is above zero. */
class FakeErp {
  readonly calls: Array<{ idempotencyKey: string; authorization?: string; body: Record<string, unknown>; status: number }> = [];
  readonly orders = new Map<string, string>();
  failing = 0;
  private server?: Server;
  url = '';

  async start() {
    // A request the fake cannot read is answered 500 rather than left hanging with an unhandled rejection.
    this.server = createServer((req, res) => {
      this.answer(req, res).catch((err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err)));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private async answer(req: IncomingMessage, res: ServerResponse) {
    let text = '';
    for await (const chunk of req) text += chunk;
    const idempotencyKey = String(req.headers['idempotency-key']);
    const record = { idempotencyKey, authorization: req.headers.authorization, body: JSON.parse(text), status: 0 };
    this.calls.push(record);
    if (this.failing > 0) {
      this.failing -= 1;
      record.status = 503;
      res.writeHead(503, { 'content-type': 'text/html' }).end('<h1>Service Unavailable</h1>');
      return;
    }
    // Idempotent, as the connector expects of an ERP: the same key gets the same order.
    const id = this.orders.get(idempotencyKey) ?? `PO-${this.orders.size + 1}`;
    this.orders.set(idempotencyKey, id);
    record.status = 201;
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id }));
  }

  stop() {
    return new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

describe('after an approval: the ERP payment order and the vendor e-mail', () => {
  let service: ServiceUnderTest;
  let erp: FakeErp;
  let smtp: SMTPServer;
  const mails: string[] = [];
  let nextTask = 870000;

  function approvedInvoiceTask(invoiceNo: string, amount: number): PyrusTask {
    const id = nextTask++;
    const value = (fid: number, type: string, code: string, v: unknown) => ({ id: fid, type, code, name: code, value: v });
    const task: PyrusTask = {
      id,
      form_id: 2002,
      current_step: 2,
      fields: [
        value(1, 'text', 'supplier', 'Stark Industries'),
        value(2, 'text', 'inn', `99${id}`),
        value(3, 'text', 'invoice_no', invoiceNo),
        value(4, 'date', 'invoice_date', '2024-10-01'),
        value(5, 'money', 'amount', amount),
        value(6, 'text', 'currency', 'USD'),
        value(7, 'email', 'vendor_email', 'billing@stark.example.com'),
        { id: 8, type: 'text', code: 'erp_document', name: 'ERP document' },
      ],
      approvals: [
        [{ person: { id: MANAGER_USER_ID, type: 'user' }, approval_choice: 'approved' }],
        [{ person: { id: PAYMENTS_ERP_BOT_USER_ID, type: 'bot' }, approval_choice: 'waiting' }],
      ],
      comments: [{ id: id * 10, text: 'Please pay', author: { id: 77 } }],
    };
    service.pyrus.addTask(structuredClone(task));
    return task;
  }

  async function approve(task: PyrusTask) {
    const body = JSON.stringify({
      event: 'comment',
      access_token: service.pyrus.issueToken(BOT),
      task_id: task.id,
      user_id: PAYMENTS_ERP_BOT_USER_ID,
      task,
    });
    await sendSigned(service.api, BOT, body, KEY).expect(200);
    const [payment] = await waitFor('the approved payment', async () => {
      const { rows } = await service.db.query(`SELECT * FROM payments WHERE bot = $1 AND task_id = $2 AND status = 'approved'`, [
        BOT,
        task.id,
      ]);
      return rows.length ? rows : undefined;
    });
    return payment as { id: string };
  }

  const botTexts = (taskId: number) =>
    service.pyrus.comments
      .filter((c) => c.taskId === taskId && c.bot === BOT)
      .map((c) => c.request as { text: string; field_updates?: unknown });
  const paymentRow = async (id: string) => (await service.db.query('SELECT * FROM payments WHERE id = $1', [id])).rows[0];

  beforeAll(async () => {
    erp = new FakeErp();
    await erp.start();
    smtp = new SMTPServer({
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData(stream, _session, callback) {
        let raw = '';
        stream.on('data', (c) => (raw += c));
        stream.on('end', () => {
          mails.push(raw.replace(/=\r?\n/g, '')); // undo quoted-printable soft line breaks
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const smtpPort = (smtp.server.address() as AddressInfo).port;
    service = await startServiceWithEmulator([870000, 879999], {
      ERP_URL: erp.url,
      ERP_AUTH_VALUE: 'Bearer erp-test-token',
      ERP_RETRIES: '0',
      ERP_BREAKER_THRESHOLD: '100',
      SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      SMTP_FROM: 'payments-bot@example.org',
    });
  });

  afterAll(async () => {
    await service?.close();
    await erp?.stop();
    await new Promise<void>((resolve) => smtp?.close(() => resolve()));
  });

  it('creates one payment order, tells the task with the document id, and e-mails the vendor', async () => {
    const task = approvedInvoiceTask('SI-100', 1500);
    const payment = await approve(task);
    await waitFor('the follow-up comment', () => botTexts(task.id).length === 2);
    const [decision, followUp] = botTexts(task.id);
    expect(decision.text).toMatch(/^Approved/);
    expect(followUp).toEqual({ text: 'Payment order PO-1 created in the ERP.', field_updates: [{ code: 'erp_document', value: 'PO-1' }] });
    const mine = erp.calls.filter((c) => c.idempotencyKey === payment.id);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      authorization: 'Bearer erp-test-token',
      body: { paymentId: payment.id, taskId: task.id, amount: '1500.00', currency: 'USD', invoiceNumber: 'SI-100' },
    });
    expect((await paymentRow(payment.id)).erp_document_id).toBe('PO-1');

    const mail = await waitFor('the e-mail', () => mails.find((m) => m.includes('SI-100')));
    expect(mail).toContain('To: billing@stark.example.com');
    expect(mail).toContain('Subject: Invoice SI-100 approved');
    expect(mail).toContain('Dear Stark Industries, invoice SI-100 of 1500.00 USD is approved for payment.');
    // The server has the message before the worker hears its answer and records the send.
    const rows = await waitFor('the notification record', async () => {
      const found = await service.db.query('SELECT channel, recipient, status FROM notifications WHERE payment_id = $1', [payment.id]);
      return found.rows.length > 0 && found.rows;
    });
    expect(rows).toEqual([{ channel: 'email', recipient: 'billing@stark.example.com', status: 'sent' }]);
  });

  it('rides out an ERP that is down for a while: one order, no delay notice', async () => {
    erp.failing = 2;
    const task = approvedInvoiceTask('SI-200', 2500);
    const payment = await approve(task);
    await waitFor('the follow-up comment', () => botTexts(task.id).length === 2);
    expect(erp.calls.filter((c) => c.idempotencyKey === payment.id).map((c) => c.status)).toEqual([503, 503, 201]);
    expect(botTexts(task.id)[1].text).toMatch(/created in the ERP/);
  });

  it('says once that the order is delayed when the ERP stays down, and creates it once when retried later', async () => {
    erp.failing = 1000;
    const task = approvedInvoiceTask('SI-300', 3500);
    const payment = await approve(task);
    const queue = service.worker.get<Queue>(getQueueToken(FOLLOWUPS_QUEUE));
    const jobId = `${CREATE_PAYMENT_ORDER_JOB}:${payment.id}`;
    await waitFor('the ERP job to fail for good', async () => (await (await queue.getJob(jobId))?.getState()) === 'failed', 15000);
    expect(botTexts(task.id).filter((c) => /delayed/.test(c.text))).toHaveLength(1);
    expect((await paymentRow(payment.id)).erp_document_id).toBeNull();

    erp.failing = 0;
    await (await queue.getJob(jobId))!.retry();
    await waitFor('the follow-up comment', () => botTexts(task.id).some((c) => /created in the ERP/.test(c.text)));
    const created = erp.calls.filter((c) => c.idempotencyKey === payment.id && c.status === 201);
    expect(created).toHaveLength(1);
    expect(botTexts(task.id).filter((c) => /delayed/.test(c.text))).toHaveLength(1);
  });
});
