import { closedPort, RecordingHttpServer } from '../testing/recording-http-server';
import { ErpCallEvent } from './erp-call.observer';
import { createErpCircuitBreaker, ErpClient, ErpClientOptions } from './erp.client';
import { ErpError, ErpUnavailableError } from './erp.errors';
import { ErpClientSettings, PaymentOrder } from './erp.types';

const SECRET = 'Bearer sk-live-0123456789';
const order: PaymentOrder = {
  paymentId: '3f0c9a4e-6a43-4c52-9d9e-1b6a2f7d8c01',
  taskId: 1001,
  supplierKey: '7701234567',
  supplierName: 'Acme Supplies',
  invoiceNumber: 'INV-2026/042',
  invoiceDate: '2026-11-20',
  amount: '1250.00',
  currency: 'EUR',
  costCentre: 'CC-10',
};

describe('ErpClient against a local HTTP server', () => {
  let server: RecordingHttpServer;
  let delays: number[];

  beforeEach(async () => {
    server = await RecordingHttpServer.start();
    delays = [];
  });
  afterEach(() => server.close());

  const settings = (over: Partial<ErpClientSettings> = {}): ErpClientSettings => ({
    url: server.url,
    path: '/payment-orders',
    authHeader: 'Authorization',
    authValue: SECRET,
    timeoutMs: 2000,
    retries: 3,
    retryBaseMs: 10,
    ...over,
  });
  const client = (over: Partial<ErpClientSettings> = {}, options: ErpClientOptions = {}) =>
    new ErpClient(settings(over), {
      sleep: (ms) => {
        delays.push(ms);
        return Promise.resolve();
      },
      ...options,
    });
  const failure = async (promise: Promise<unknown>): Promise<ErpError> => {
    const err = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ErpError);
    return err as ErpError;
  };

  it('posts the order as JSON with the auth header and Idempotency-Key, and reads the document id', async () => {
    server.reply({ status: 201, body: { id: 'PO-77' } });
    await expect(client().createPaymentOrder(order)).resolves.toEqual({ documentId: 'PO-77', status: 201, duplicate: false });
    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/payment-orders');
    expect(request.headers['idempotency-key']).toBe(order.paymentId);
    expect(request.headers.authorization).toBe(SECRET);
    expect(request.headers['content-type']).toBe('application/json');
    expect(server.bodyOf(0)).toEqual(order);
  });

  it('uses the configured path and header name, and reads documentId (a number too)', async () => {
    server.reply({ status: 200, body: { documentId: 'D-1' } }, { status: 200, body: { id: 42 } });
    const erp = client({ path: '/api/v2/orders', authHeader: 'X-Api-Key', authValue: 'key-abcdef' });
    await expect(erp.createPaymentOrder(order)).resolves.toEqual({ documentId: 'D-1', status: 200, duplicate: false });
    await expect(erp.createPaymentOrder(order)).resolves.toMatchObject({ documentId: '42' });
    expect(server.requests[0].url).toBe('/api/v2/orders');
    expect(server.requests[0].headers['x-api-key']).toBe('key-abcdef');
    expect(server.requests[0].headers.authorization).toBeUndefined();
  });

  it('retries 5xx with growing, jittered delays and the same Idempotency-Key, then succeeds', async () => {
    server.reply({ status: 503, body: { message: 'maintenance' } }, { status: 500, body: {} }, { status: 201, body: { id: 'PO-1' } });
    await expect(client().createPaymentOrder(order)).resolves.toMatchObject({ documentId: 'PO-1', duplicate: false });
    expect(server.requests).toHaveLength(3);
    expect(new Set(server.requests.map((r) => r.headers['idempotency-key']))).toEqual(new Set([order.paymentId]));
    expect(delays).toHaveLength(2);
    expect(delays[0]).toBeGreaterThanOrEqual(5);
    expect(delays[0]).toBeLessThan(15);
    expect(delays[1]).toBeGreaterThanOrEqual(10);
    expect(delays[1]).toBeLessThan(30);
  });

  it('gives up after the configured retries with a retryable error', async () => {
    server.always({ status: 500, body: { error: { message: 'db down' } } });
    const err = await failure(client({ retries: 2 }).createPaymentOrder(order));
    expect(err).toMatchObject({ status: 500, retryable: true, code: 'ERP_HTTP_ERROR' });
    expect(err.message).toBe('ERP POST /payment-orders answered 500: db down');
    expect(server.requests).toHaveLength(3);
  });

  it('does not retry a 4xx', async () => {
    server.reply({ status: 422, body: { message: 'currency not supported' } });
    const err = await failure(client().createPaymentOrder(order));
    expect(err).toMatchObject({ status: 422, retryable: false, code: 'ERP_HTTP_ERROR' });
    expect(err.message).toContain('currency not supported');
    expect(server.requests).toHaveLength(1);
    expect(delays).toEqual([]);
  });

  it('describes an HTML 502 from a proxy instead of failing to parse it', async () => {
    server.always({ status: 502, body: '<html><head><title>502</title></head><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>' });
    const err = await failure(client({ retries: 1 }).createPaymentOrder(order));
    expect(err).toMatchObject({ status: 502, retryable: true, code: 'ERP_HTTP_ERROR' });
    expect(err.message).toContain('502 Bad Gateway');
    expect(err.message).not.toContain('<');
    expect(server.requests).toHaveLength(2);
  });

  it('takes a 409 that names the existing document as success, duplicate', async () => {
    server.reply({ status: 409, body: { message: 'already exists', documentId: 'PO-77' } });
    await expect(client().createPaymentOrder(order)).resolves.toEqual({ documentId: 'PO-77', status: 409, duplicate: true });
  });

  it('marks an idempotent replay (Idempotent-Replayed: true) as duplicate', async () => {
    server.reply({ status: 200, body: { id: 'PO-77' }, headers: { 'idempotent-replayed': 'true' } });
    await expect(client().createPaymentOrder(order)).resolves.toMatchObject({ documentId: 'PO-77', duplicate: true });
  });

  it('fails a 409 without a document id, not retryable', async () => {
    server.reply({ status: 409, body: { message: 'key reused with another payload' } });
    const err = await failure(client().createPaymentOrder(order));
    expect(err).toMatchObject({ status: 409, retryable: false });
    expect(err.message).toContain('without a document id');
    expect(server.requests).toHaveLength(1);
  });

  it('retries a 2xx without a document id (the key makes it safe), then reports it', async () => {
    server.always({ status: 200, body: 'OK' });
    const err = await failure(client({ retries: 1 }).createPaymentOrder(order));
    expect(err).toMatchObject({ status: 200, retryable: true, code: 'ERP_INVALID_RESPONSE' });
    expect(server.requests).toHaveLength(2);
  });

  it('retries network errors and reports them as retryable', async () => {
    const err = await failure(client({ url: `http://127.0.0.1:${await closedPort()}`, retries: 2 }).createPaymentOrder(order));
    expect(err).toMatchObject({ status: 0, retryable: true, code: 'ERP_NETWORK_ERROR' });
    expect(err.message).toContain('ECONNREFUSED');
    expect(delays).toHaveLength(2);
  });

  it('times out a slow ERP as a retryable error', async () => {
    server.always({ status: 201, body: { id: 'late' }, delayMs: 1000 });
    const err = await failure(client({ timeoutMs: 100, retries: 0 }).createPaymentOrder(order));
    expect(err).toMatchObject({ status: 0, retryable: true, code: 'ERP_TIMEOUT' });
  });

  it('refuses a malformed order without calling the ERP', async () => {
    const err = await failure(client().createPaymentOrder({ ...order, amount: '1,250.00', paymentId: '' }));
    expect(err).toMatchObject({ retryable: false, code: 'ERP_INVALID_ORDER' });
    expect(err.message).toMatch(/paymentId is empty; amount must be a decimal string/);
    expect(server.requests).toHaveLength(0);
  });

  it('is disabled without settings', async () => {
    const erp = new ErpClient(null);
    expect(erp.enabled).toBe(false);
    await expect(erp.createPaymentOrder(order)).rejects.toMatchObject({ code: 'ERP_NOT_CONFIGURED', retryable: false });
  });

  it('never puts the auth value in an error message, even when the ERP echoes it', async () => {
    const token = SECRET.split(' ')[1];
    server.reply(
      { status: 401, body: `<html><body>Invalid credentials: ${SECRET}</body></html>` },
      { status: 500, body: { message: `upstream rejected token ${token}` } },
    );
    const erp = client({ retries: 0 });
    const unauthorized = await failure(erp.createPaymentOrder(order));
    const serverError = await failure(erp.createPaymentOrder(order));
    for (const err of [unauthorized, serverError]) {
      expect(err.message).not.toContain(token);
      expect(err.message).toContain('[REDACTED]');
      expect(JSON.stringify(err)).not.toContain(token);
      expect(String(err.stack)).not.toContain(token);
    }
  });

  describe('with the circuit breaker', () => {
    let now: number;
    const withBreaker = (over: Partial<ErpClientSettings> = {}) => {
      const transitions: string[] = [];
      const breaker = createErpCircuitBreaker({
        failureThreshold: 3,
        cooldownMs: 30000,
        now: () => now,
        onStateChange: (to, from) => transitions.push(`${from}->${to}`),
      });
      return { erp: client({ retries: 0, ...over }, { breaker }), breaker, transitions };
    };
    beforeEach(() => {
      now = 1_000_000;
    });

    it('opens after N failures and then fails fast, retryable, without calling the ERP', async () => {
      server.always({ status: 503, body: { message: 'down' } });
      const { erp, transitions } = withBreaker();
      for (let i = 0; i < 3; i++) await failure(erp.createPaymentOrder(order));
      expect(server.requests).toHaveLength(3);
      expect(erp.circuitState).toBe('open');

      now += 10000;
      const err = await failure(erp.createPaymentOrder(order));
      expect(err).toBeInstanceOf(ErpUnavailableError);
      expect(err).toMatchObject({ retryable: true, code: 'ERP_UNAVAILABLE', retryInMs: 20000 });
      expect(err.message).toContain('last failure: ERP POST /payment-orders answered 503: down');
      expect(server.requests).toHaveLength(3);
      expect(transitions).toEqual(['closed->open']);
    });

    it('half-opens after the cool-down and closes on a successful trial', async () => {
      server.reply(...Array(3).fill({ status: 500, body: {} }));
      const { erp, transitions } = withBreaker();
      for (let i = 0; i < 3; i++) await failure(erp.createPaymentOrder(order));
      now += 30000;
      expect(erp.circuitState).toBe('half-open');
      server.reply({ status: 201, body: { id: 'PO-5' } });
      await expect(erp.createPaymentOrder(order)).resolves.toMatchObject({ documentId: 'PO-5' });
      expect(erp.circuitState).toBe('closed');
      expect(server.requests).toHaveLength(4);
      expect(transitions).toEqual(['closed->open', 'open->half-open', 'half-open->closed']);
    });

    it('opens again for a full cool-down when the trial fails', async () => {
      server.always({ status: 500, body: {} });
      const { erp } = withBreaker();
      for (let i = 0; i < 3; i++) await failure(erp.createPaymentOrder(order));
      now += 30000;
      await failure(erp.createPaymentOrder(order));
      expect(server.requests).toHaveLength(4);
      expect(erp.circuitState).toBe('open');
      now += 29999;
      await expect(erp.createPaymentOrder(order)).rejects.toBeInstanceOf(ErpUnavailableError);
      expect(server.requests).toHaveLength(4);
    });

    it('stops a call’s own retries once the breaker opens', async () => {
      server.always({ status: 502, body: 'Bad Gateway' });
      const { erp } = withBreaker({ retries: 10 });
      await expect(erp.createPaymentOrder(order)).rejects.toBeInstanceOf(ErpUnavailableError);
      expect(server.requests).toHaveLength(3);
    });

    it('does not count a 4xx (the ERP answered) as a failure', async () => {
      server.always({ status: 400, body: { message: 'bad order' } });
      const { erp } = withBreaker();
      for (let i = 0; i < 5; i++) await failure(erp.createPaymentOrder(order));
      expect(server.requests).toHaveLength(5);
      expect(erp.circuitState).toBe('closed');
    });

    it('counts network errors, and keeps secrets out of the fail-fast message', async () => {
      const { erp } = withBreaker({ url: `http://127.0.0.1:${await closedPort()}` });
      for (let i = 0; i < 3; i++)
        await expect(erp.createPaymentOrder(order)).rejects.toMatchObject({
          code: 'ERP_NETWORK_ERROR',
          message: expect.stringContaining('ECONNREFUSED'),
        });
      const err = await failure(erp.createPaymentOrder(order));
      expect(err).toBeInstanceOf(ErpUnavailableError);
      expect(err.message).not.toContain('sk-live');
    });
  });
  describe('with an observer', () => {
    let events: ErpCallEvent[];
    const observed = (over: Partial<ErpClientSettings> = {}, options: ErpClientOptions = {}) =>
      client(over, { observer: { onCall: (e) => events.push(e) }, ...options });
    const summary = () => events.map((e) => [e.status, e.outcome, e.errorCode ?? (e.duplicate ? 'duplicate' : '-'), e.sent]);
    beforeEach(() => {
      events = [];
    });

    it('is told of each HTTP attempt with the payment, the task and the bot', async () => {
      server.reply({ status: 503, body: { message: 'maintenance' } }, { status: 201, body: { id: 'PO-1' } });
      await observed().createPaymentOrder(order, { bot: 'payments' });
      expect(summary()).toEqual([
        [503, 'error', 'ERP_HTTP_ERROR', true],
        [201, 'ok', '-', true],
      ]);
      expect(events[0]).toMatchObject({ operation: 'create-payment-order', paymentId: order.paymentId, taskId: 1001, bot: 'payments' });
      expect(events[0].error).toMatch(/answered 503: maintenance/);
      expect(events[1].durationMs).toBeGreaterThanOrEqual(0);
    });

    it('marks a duplicate, gives no status without an answer, and keeps the auth value out', async () => {
      server.reply({ status: 409, body: { id: 'PO-9', message: `exists; your key ${SECRET}` } });
      await observed().createPaymentOrder(order);
      const down = observed({ url: `http://127.0.0.1:${await closedPort()}`, retries: 0 });
      await expect(down.createPaymentOrder(order)).rejects.toMatchObject({ code: 'ERP_NETWORK_ERROR' });
      server.reply({ status: 400, body: { message: `bad key ${SECRET}` } });
      await expect(observed().createPaymentOrder(order)).rejects.toMatchObject({ status: 400 });
      expect(summary()).toEqual([
        [409, 'ok', 'duplicate', true],
        [null, 'error', 'ERP_NETWORK_ERROR', true],
        [400, 'error', 'ERP_HTTP_ERROR', true],
      ]);
      expect(JSON.stringify(events)).not.toContain('sk-live');
    });

    it('reports a call the open breaker refused as not sent, and nothing for an order refused before sending', async () => {
      server.always({ status: 502, body: 'Bad Gateway' });
      const breaker = createErpCircuitBreaker({ failureThreshold: 1, cooldownMs: 30000 });
      const erp = observed({ retries: 0 }, { breaker });
      await failure(erp.createPaymentOrder(order));
      await expect(erp.createPaymentOrder(order)).rejects.toBeInstanceOf(ErpUnavailableError);
      await failure(erp.createPaymentOrder({ ...order, amount: 'lots' }));
      expect(summary()).toEqual([
        [502, 'error', 'ERP_HTTP_ERROR', true],
        [null, 'error', 'ERP_UNAVAILABLE', false],
      ]);
    });

    it('never lets an observer that throws fail the call', async () => {
      server.reply({ status: 201, body: { id: 'PO-2' } });
      const erp = client(
        {},
        {
          observer: {
            onCall: () => {
              throw new Error('observer bug');
            },
          },
        },
      );
      await expect(erp.createPaymentOrder(order)).resolves.toMatchObject({ documentId: 'PO-2' });
    });
  });
});
