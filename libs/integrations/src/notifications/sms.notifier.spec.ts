import { closedPort, RecordingHttpServer } from '../testing/recording-http-server';
import { SmsNotifier, SmsSettings } from './sms.notifier';

const TOKEN = 'gw-token-9f8e7d6c5b';

describe('SmsNotifier against a local HTTP gateway', () => {
  let gateway: RecordingHttpServer;
  beforeEach(async () => {
    gateway = await RecordingHttpServer.start();
  });
  afterEach(() => gateway.close());

  const notifier = (over: Partial<SmsSettings> = {}) =>
    new SmsNotifier({ url: `${gateway.url}/v1/sms`, authHeader: 'X-Api-Key', authValue: TOKEN, timeoutMs: 2000, ...over });

  it('posts {to, text} as JSON with the auth header and returns the gateway id', async () => {
    gateway.reply({ status: 202, body: { messageId: 'sms-123', status: 'queued' } });
    const outcome = await notifier().send({
      to: '+4915112345678',
      text: 'Invoice {invoiceNumber} of {amount} {currency} approved',
      values: { invoiceNumber: 'INV-7', amount: '99.90', currency: 'EUR' },
    });
    expect(outcome).toEqual({ channel: 'sms', to: '+4915112345678', status: 'sent', providerId: 'sms-123' });
    expect(gateway.requests).toHaveLength(1);
    const [request] = gateway.requests;
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/v1/sms');
    expect(request.headers['x-api-key']).toBe(TOKEN);
    expect(request.headers['content-type']).toBe('application/json');
    expect(gateway.bodyOf(0)).toEqual({ to: '+4915112345678', text: 'Invoice INV-7 of 99.90 EUR approved' });
  });

  it('counts any 2xx as sent, with or without an id', async () => {
    gateway.reply({ status: 200, body: 'OK' }, { status: 201, body: { id: 77 } });
    await expect(notifier().send({ to: '+1', text: 'a' })).resolves.toEqual({
      channel: 'sms',
      to: '+1',
      status: 'sent',
      providerId: undefined,
    });
    await expect(notifier().send({ to: '+1', text: 'a' })).resolves.toMatchObject({ providerId: '77' });
  });

  it('returns a failed outcome for a refusal, without the token even when the gateway echoes it', async () => {
    gateway.reply({ status: 401, body: { error: `unknown key ${TOKEN}` } });
    const outcome = await notifier().send({ to: '+4915112345678', text: 'hello' });
    expect(outcome).toMatchObject({
      channel: 'sms',
      status: 'failed',
      retryable: false,
      error: 'SMS gateway answered 401: unknown key [REDACTED]',
    });
    expect(JSON.stringify(outcome)).not.toContain(TOKEN);
  });

  it('marks a 5xx (an HTML page too) and no connection as retryable, and does not retry by itself', async () => {
    gateway.reply({ status: 503, body: '<html><body><h1>503 Service Unavailable</h1></body></html>' });
    const busy = await notifier().send({ to: '+4915112345678', text: 'hello' });
    expect(busy).toMatchObject({ status: 'failed', retryable: true, error: 'SMS gateway answered 503: 503 Service Unavailable' });
    expect(gateway.requests).toHaveLength(1);

    const down = await notifier({ url: `http://127.0.0.1:${await closedPort()}/sms` }).send({ to: '+4915112345678', text: 'hello' });
    expect(down).toMatchObject({ status: 'failed', retryable: true });
    expect(down.error).toMatch(/^SMS gateway failed: ECONNREFUSED/);
  });

  it('reports a timeout as retryable but possibly sent', async () => {
    gateway.reply({ status: 200, body: { id: 'late' }, delayMs: 1000 });
    const outcome = await notifier({ timeoutMs: 100 }).send({ to: '+4915112345678', text: 'hello' });
    expect(outcome).toMatchObject({ status: 'failed', retryable: true, error: 'SMS gateway timed out (the message may have been sent)' });
  });

  it('sends nothing when a template value is missing', async () => {
    const outcome = await notifier().send({ to: '+4915112345678', text: 'Invoice {invoiceNumber}' });
    expect(outcome).toMatchObject({ status: 'failed', retryable: false, error: 'Template values missing: {invoiceNumber}' });
    expect(gateway.requests).toHaveLength(0);
  });

  it('is disabled without settings', async () => {
    const sms = new SmsNotifier(null);
    expect(sms.enabled).toBe(false);
    await expect(sms.send({ to: '+1', text: 'a' })).resolves.toMatchObject({
      status: 'failed',
      error: 'SMS is not configured (SMS_GATEWAY_URL is not set)',
    });
  });
});
