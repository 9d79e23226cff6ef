import { closedPort, RecordingHttpServer } from '../../integrations/src/testing/recording-http-server';
import { BotTokenStore } from './bot-token.store';
import { ObservedPyrusCall, PyrusCallEvent, pyrusOperation, taskIdOfPath, withoutSecrets } from './pyrus-call.observer';
import { PyrusHttpClient } from './pyrus-http.client';
import { QuotaLimiter } from './quota-limiter';

describe('Pyrus call observation', () => {
  it('names an operation by method and path template: ids become placeholders, the query goes', () => {
    expect(pyrusOperation('GET', '/tasks/1001')).toBe('GET /tasks/{id}');
    expect(pyrusOperation('POST', '/tasks/1001/comments')).toBe('POST /tasks/{id}/comments');
    expect(pyrusOperation('POST', '/forms/2001/register')).toBe('POST /forms/{id}/register');
    expect(pyrusOperation('GET', '/catalogs/3001?include_deleted=true')).toBe('GET /catalogs/{id}');
    expect(pyrusOperation('GET', '/inbox?item_count=1000')).toBe('GET /inbox');
    expect(pyrusOperation('GET', '/profile')).toBe('GET /profile');
  });

  it('reads the task id of a task path only', () => {
    expect(taskIdOfPath('/tasks/1001')).toBe(1001);
    expect(taskIdOfPath('/tasks/1001/comments')).toBe(1001);
    expect(taskIdOfPath('/forms/2001/register')).toBeUndefined();
    expect(taskIdOfPath('/tasks/x1')).toBeUndefined();
  });

  it('removes every occurrence of each secret, and leaves short or missing ones alone', () => {
    expect(withoutSecrets('a tok-123456 b tok-123456', ['tok-123456', undefined, 'ab'])).toBe('a [REDACTED] b [REDACTED]');
  });

  it('reports a call once, and an observer that throws does not fail it', () => {
    const events: PyrusCallEvent[] = [];
    const call = new ObservedPyrusCall({ onCall: (e) => events.push(e) }, { operation: 'GET /profile', login: 'bot@x', context: {} }, []);
    call.answered(503);
    call.failed(new Error('GET /profile answered 503'));
    call.failed(new Error('again'));
    call.ok();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ operation: 'GET /profile', status: 503, outcome: 'error', error: 'GET /profile answered 503' });
    const throwing = new ObservedPyrusCall(
      {
        onCall: () => {
          throw new Error('observer bug');
        },
      },
      { operation: 'GET /profile', login: 'bot@x', context: {} },
      [],
    );
    expect(() => throwing.ok()).not.toThrow();
  });
});

describe('PyrusHttpClient reporting each HTTP request to its observer', () => {
  const TOKEN = 'tok-secret-0123456789';
  const KEY = 'security-key-abcdef';
  let server: RecordingHttpServer;
  let events: PyrusCallEvent[];

  beforeEach(async () => {
    server = await RecordingHttpServer.start();
    events = [];
  });
  afterEach(() => server.close());

  function client(apiUrl = server.url, authUrl = `${server.url}/auth`) {
    const tokens = {
      cached: () => Promise.resolve(undefined),
      get: () => Promise.resolve({ accessToken: TOKEN, apiUrl }),
      refresh: () => Promise.resolve({ accessToken: TOKEN, apiUrl }),
    };
    const quota = { acquire: () => Promise.resolve(), observe: () => Promise.resolve(), exhausted: () => Promise.resolve(0) };
    return new PyrusHttpClient(
      { authUrl, apiUrl, timeoutMs: 2000, retries: 2, retryBaseMs: 1 },
      tokens as unknown as BotTokenStore,
      quota as unknown as QuotaLimiter,
      { onCall: (e) => events.push(e) },
    );
  }
  const caller = { bot: { login: 'bot@acme', securityKey: KEY }, context: { bot: 'payments', deliveryId: 'd-1' } };

  it('one event per request: a retried 500, then the 200, with the caller context and the task id of the path', async () => {
    server.reply({ status: 500, body: { error: 'oops', error_code: 'server_error' } }, { status: 200, body: { task: { id: 77 } } });
    await client().getTask(caller, 77);
    expect(events.map((e) => [e.operation, e.status, e.outcome])).toEqual([
      ['GET /tasks/{id}', 500, 'error'],
      ['GET /tasks/{id}', 200, 'ok'],
    ]);
    expect(events[0].context).toEqual({ bot: 'payments', deliveryId: 'd-1', taskId: 77 });
    expect(events[0].login).toBe('bot@acme');
    expect(events[0].error).toMatch(/answered 500 server_error/);
    expect(events[1].durationMs).toBeGreaterThanOrEqual(0);
  });

  it('reports a 429 as its own request and goes on; the 4xx that ends the call carries no token or key, even echoed, in the event or the error', async () => {
    server.reply(
      { status: 429, body: {}, headers: { 'x-ratelimit-reset': '0' } },
      { status: 400, body: { error: `token ${TOKEN} and key ${KEY} are wrong`, error_code: 'bad_request' } },
    );
    const err = await client()
      .createComment(caller, 5, { text: 'hi' }, { since: new Date() })
      .catch((e: Error) => e);
    expect((err as Error).message).toMatch(/answered 400 bad_request: token \[REDACTED\] and key \[REDACTED\] are wrong/);
    expect(events.map((e) => [e.operation, e.status, e.outcome])).toEqual([
      ['POST /tasks/{id}/comments', 429, 'error'],
      ['POST /tasks/{id}/comments', 400, 'error'],
    ]);
    expect(JSON.stringify(events)).not.toContain(TOKEN);
    expect(JSON.stringify(events)).not.toContain(KEY);
  });

  it('reports a request that got no answer with status null, and the sign-in as POST /auth', async () => {
    const port = await closedPort();
    await expect(client(`http://127.0.0.1:${port}`).getProfile(caller)).rejects.toThrow();
    expect(events.every((e) => e.operation === 'GET /profile' && e.status === null && e.outcome === 'error')).toBe(true);
    expect(events).toHaveLength(3); // the first try and two retries

    events = [];
    server.reply({ status: 200, body: { access_token: TOKEN, api_url: server.url } });
    await client().authenticate(caller.bot);
    expect(events).toEqual([
      expect.objectContaining({ operation: 'POST /auth', login: 'bot@acme', status: 200, outcome: 'ok', context: {} }),
    ]);
    expect(JSON.stringify(events)).not.toContain(TOKEN);
  });
});
