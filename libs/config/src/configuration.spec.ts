import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from './config.error';
import { buildConfiguration } from './configuration';

const dir = mkdtempSync(join(tmpdir(), 'bots-'));
let n = 0;
function botsFile(doc: unknown): string {
  const path = join(dir, `bots-${n++}.json`);
  writeFileSync(path, typeof doc === 'string' ? doc : JSON.stringify(doc));
  return path;
}
const bot = (over: Record<string, unknown> = {}) => ({
  name: 'payments',
  login: 'bot@guid',
  securityKeys: ['k1'],
  handler: 'auto-reply',
  settings: {},
  ...over,
});
const build = (env: Record<string, string>) => () => buildConfiguration(env);

describe('buildConfiguration', () => {
  it('applies the documented defaults', () => {
    const config = buildConfiguration({ BOTS_FILE: botsFile({ bots: [bot()] }) });
    expect(config.app.port).toBe(3000);
    expect(config.database.url).toBe('postgres://postgres@127.0.0.1:5432/pyrus_bots');
    expect(config.redis.url).toBe('redis://127.0.0.1:6379');
    expect(config.pyrus).toMatchObject({ authUrl: 'https://accounts.pyrus.com/api/v4/auth', apiUrl: 'https://api.pyrus.com/v4' });
    expect(config.app.logLevel).toBe('info');
    expect(config.bots.bots).toEqual([{ ...bot(), reply: 'api', inlineBudgetMs: 0 }]);
  });

  it('stops on a bad variable and names it', () => {
    const file = botsFile({ bots: [bot()] });
    expect(build({ BOTS_FILE: file, PORT: 'eighty' })).toThrow(/PORT/);
    expect(build({ BOTS_FILE: file, DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
    expect(build({ BOTS_FILE: file, LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
    expect(build({ BOTS_FILE: file, PYRUS_API_URL: 'not a url' })).toThrow(/PYRUS_API_URL/);
    expect(build({ BOTS_FILE: file, TRUST_PROXY: 'any proxy at all' })).toThrow(/TRUST_PROXY/);
    expect(build({ BOTS_FILE: file, ADMIN_RATE_LIMIT: '0' })).toThrow(/ADMIN_RATE_LIMIT/);
    expect(build({ BOTS_FILE: file, DATABASE_PREPARED_STATEMENTS: 'no' })).toThrow(/DATABASE_PREPARED_STATEMENTS/);
  });

  it('uses prepared statements unless DATABASE_PREPARED_STATEMENTS=false', () => {
    const file = botsFile({ bots: [bot()] });
    expect(buildConfiguration({ BOTS_FILE: file }).database.preparedStatements).toBe(true);
    expect(buildConfiguration({ BOTS_FILE: file, DATABASE_PREPARED_STATEMENTS: 'false' }).database.preparedStatements).toBe(false);
  });

  it('reads REGISTER_SYNC_INTERVAL_MS: a minute by default, 0 turns the register copy off, a tiny value stops the boot', () => {
    const file = botsFile({ bots: [bot()] });
    expect(buildConfiguration({ BOTS_FILE: file }).queue.registerSyncIntervalMs).toBe(60000);
    expect(buildConfiguration({ BOTS_FILE: file, REGISTER_SYNC_INTERVAL_MS: '0' }).queue.registerSyncIntervalMs).toBe(0);
    expect(buildConfiguration({ BOTS_FILE: file, REGISTER_SYNC_INTERVAL_MS: '5000' }).queue.registerSyncIntervalMs).toBe(5000);
    expect(build({ BOTS_FILE: file, REGISTER_SYNC_INTERVAL_MS: '50' })).toThrow(
      /REGISTER_SYNC_INTERVAL_MS must be 0 \(off\) or at least 1000/,
    );
    expect(build({ BOTS_FILE: file, REGISTER_SYNC_INTERVAL_MS: 'often' })).toThrow(/REGISTER_SYNC_INTERVAL_MS/);
  });

  it('reads INBOX_SWEEP_INTERVAL_MS: 5 minutes by default, 0 turns the inbox sweep off, a tiny value stops the boot', () => {
    const file = botsFile({ bots: [bot()] });
    expect(buildConfiguration({ BOTS_FILE: file }).queue.inboxSweepIntervalMs).toBe(300000);
    expect(buildConfiguration({ BOTS_FILE: file, INBOX_SWEEP_INTERVAL_MS: '0' }).queue.inboxSweepIntervalMs).toBe(0);
    expect(buildConfiguration({ BOTS_FILE: file, INBOX_SWEEP_INTERVAL_MS: '60000' }).queue.inboxSweepIntervalMs).toBe(60000);
    expect(build({ BOTS_FILE: file, INBOX_SWEEP_INTERVAL_MS: '50' })).toThrow(/INBOX_SWEEP_INTERVAL_MS must be 0 \(off\) or at least 1000/);
    expect(build({ BOTS_FILE: file, INBOX_SWEEP_INTERVAL_MS: '-1' })).toThrow(/INBOX_SWEEP_INTERVAL_MS/);
    expect(build({ BOTS_FILE: file, INBOX_SWEEP_INTERVAL_MS: 'often' })).toThrow(/INBOX_SWEEP_INTERVAL_MS/);
  });

  it("reads each bot's reply: api by default; auto and inline wait 3 s and 20 s unless inlineBudgetMs says otherwise", () => {
    const replies = (bots: Array<Record<string, unknown>>) =>
      buildConfiguration({ BOTS_FILE: botsFile({ bots: bots.map((b, i) => bot({ name: `b${i}`, ...b })) }) }).bots.bots.map((b) => [
        b.reply,
        b.inlineBudgetMs,
      ]);
    expect(replies([{}, { reply: 'auto' }, { reply: 'inline' }, { reply: 'auto', inlineBudgetMs: 500 }])).toEqual([
      ['api', 0],
      ['auto', 3000],
      ['inline', 20000],
      ['auto', 500],
    ]);
    const fails = (extra: Record<string, unknown>) => build({ BOTS_FILE: botsFile({ bots: [bot(extra)] }) });
    expect(fails({ reply: 'webhook' })).toThrow(/bot "payments": "reply" must be one of "inline", "api", "auto"/);
    expect(fails({ reply: 'api', inlineBudgetMs: 1000 })).toThrow(/"inlineBudgetMs" needs "reply": "auto" or "inline"/);
    expect(fails({ reply: 'auto', inlineBudgetMs: 60000 })).toThrow(
      /"inlineBudgetMs" must be a whole number of milliseconds from 1 to 50000/,
    );
    expect(fails({ reply: 'auto', inlineBudgetMs: 0 })).toThrow(/"inlineBudgetMs"/);
    expect(fails({ reply: 'auto', inlineBudgetMs: '3000' })).toThrow(/"inlineBudgetMs"/);
  });

  it('reads ${NAME} values from the environment', () => {
    const file = botsFile({ bots: [bot({ login: '${BOT_LOGIN}', securityKeys: ['${KEY_NEW}', '${KEY_OLD}'] })] });
    const config = buildConfiguration({ BOTS_FILE: file, BOT_LOGIN: 'bot@x', KEY_NEW: 'new', KEY_OLD: 'old' });
    expect(config.bots.bots[0]).toMatchObject({ login: 'bot@x', securityKeys: ['new', 'old'] });
  });

  it('stops when a ${NAME} variable is missing, naming it', () => {
    const file = botsFile({ bots: [bot({ securityKeys: ['${PAYMENTS_KEY}'] })] });
    expect(build({ BOTS_FILE: file })).toThrow(ConfigError);
    expect(build({ BOTS_FILE: file })).toThrow(/PAYMENTS_KEY/);
  });

  it.each([
    ['two bots with one name', { bots: [bot(), bot()] }, /bot "payments": two bots have this name/],
    ['a bot without keys', { bots: [bot({ securityKeys: [] })] }, /bot "payments": "securityKeys"/],
    ['a bad name', { bots: [bot({ name: 'Pay Ments' })] }, /"name" must match/],
    ['no login', { bots: [bot({ login: '' })] }, /"login" is required/],
    ['no bots list', { robots: [] }, /must hold \{"bots"/],
  ])('stops on %s', (_, doc, message) => {
    expect(build({ BOTS_FILE: botsFile(doc) })).toThrow(message);
  });

  it('stops on a bots file that is missing or not JSON', () => {
    expect(build({ BOTS_FILE: join(dir, 'absent.json') })).toThrow(/BOTS_FILE: cannot read/);
    expect(build({ BOTS_FILE: botsFile('{ nope') })).toThrow(/not valid JSON/);
  });

  describe('integrations', () => {
    const file = () => botsFile({ bots: [bot()] });

    it('are off unless their URL is set', () => {
      expect(buildConfiguration({ BOTS_FILE: file() }).integrations).toEqual({ erp: null, email: null, sms: null });
    });

    it('read the ERP, SMTP and SMS variables with their defaults', () => {
      const config = buildConfiguration({
        BOTS_FILE: file(),
        ERP_URL: 'https://erp.example.com/api/',
        ERP_AUTH_VALUE: 'Bearer erp-secret',
        SMTP_URL: 'smtp://user:pass@127.0.0.1:2525',
        SMTP_FROM: 'Payments <payments@example.com>',
        SMS_GATEWAY_URL: 'http://127.0.0.1:9000/send',
        SMS_AUTH_HEADER: 'X-Api-Key',
        SMS_AUTH_VALUE: 'sms-secret',
      }).integrations;
      expect(config.erp).toEqual({
        url: 'https://erp.example.com/api',
        path: '/payment-orders',
        authHeader: 'Authorization',
        authValue: 'Bearer erp-secret',
        timeoutMs: 10000,
        retries: 3,
        retryBaseMs: 500,
        breakerThreshold: 5,
        breakerCooldownMs: 30000,
      });
      expect(config.email).toEqual({ url: 'smtp://user:pass@127.0.0.1:2525', from: 'Payments <payments@example.com>', timeoutMs: 10000 });
      expect(config.sms).toEqual({ url: 'http://127.0.0.1:9000/send', authHeader: 'X-Api-Key', authValue: 'sms-secret', timeoutMs: 10000 });
    });

    it.each([
      [{ ERP_URL: 'ftp://erp.example.com' }, /ERP_URL must be an http\(s\) URL/],
      [{ ERP_URL: 'erp.example.com' }, /ERP_URL/],
      [{ ERP_URL: 'https://user:secret@erp.example.com' }, /ERP_URL/],
      [{ ERP_PATH: 'payment-orders' }, /ERP_PATH must start with/],
      [{ ERP_AUTH_HEADER: 'Bad Header:' }, /ERP_AUTH_HEADER/],
      [{ ERP_BREAKER_THRESHOLD: '0' }, /ERP_BREAKER_THRESHOLD/],
      [{ ERP_RETRIES: 'many' }, /ERP_RETRIES/],
      [{ SMTP_URL: 'http://mail.example.com' }, /SMTP_URL must be an smtp/],
      [{ SMTP_URL: 'smtp://127.0.0.1:25' }, /SMTP_FROM is required/],
      [{ SMTP_URL: 'smtp://127.0.0.1:25', SMTP_FROM: 'nobody' }, /SMTP_FROM must be an e-mail address/],
      [{ SMS_GATEWAY_URL: 'not a url' }, /SMS_GATEWAY_URL/],
      [{ SMS_AUTH_HEADER: 'X Key' }, /SMS_AUTH_HEADER/],
    ])('stop the boot on %j', (vars, message) => {
      expect(build({ BOTS_FILE: file(), ...vars })).toThrow(message);
    });

    it('never echo a secret in a validation message', () => {
      const attempt = build({ BOTS_FILE: file(), ERP_URL: 'https://user:topsecret@erp', SMTP_URL: 'smtp://u:topsecret@h:25' });
      expect(attempt).toThrow(ConfigError);
      expect(attempt).not.toThrow(/topsecret/);
    });
  });
});
