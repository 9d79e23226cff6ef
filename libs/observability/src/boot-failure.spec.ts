import { ConfigError } from '@app/config';
import { bootFailureLine, redactSecrets } from './boot-failure';

const api = { name: 'api' as const, portVariable: 'PORT' as const };

describe('bootFailureLine', () => {
  it('is one line, even for a multi-line message', () => {
    const line = bootFailureLine(
      api,
      new ConfigError('Invalid environment:\n  PORT: PORT must be an integer number\n  JOB_ATTEMPTS: too small'),
      {},
    );
    expect(line).toBe(
      'api: invalid environment: PORT: PORT must be an integer number; JOB_ATTEMPTS: too small; fix the variable named and start again',
    );
  });

  it('never shows the password of a URL the service is given, wherever the message puts it', () => {
    const env = { DATABASE_URL: 'postgres://app:p%40ss-w0rd@db:5432/x', REDIS_URL: 'redis://:r3dis-secret@cache:6379' };
    const err = new Error('could not use postgres://app:p@ss-w0rd@db:5432/x, nor the key p@ss-w0rd, nor redis://:r3dis-secret@cache:6379');
    const line = bootFailureLine(api, err, env);
    expect(line).not.toContain('ss-w0rd');
    expect(line).not.toContain('r3dis-secret');
    expect(line).toMatch(/^api: failed to start: /);
  });

  it('tells Redis from PostgreSQL by the address the connection went to', () => {
    const refused = (port: number) =>
      Object.assign(new Error(`connect ECONNREFUSED 127.0.0.1:${port}`), { code: 'ECONNREFUSED', address: '127.0.0.1', port });
    const env = { DATABASE_URL: 'postgres://app@localhost:5433/x', REDIS_URL: 'redis://127.0.0.1:6380' };
    expect(bootFailureLine(api, refused(5433), env)).toBe(
      'api: cannot reach PostgreSQL at localhost:5433 (ECONNREFUSED); start it or fix DATABASE_URL',
    );
    expect(bootFailureLine(api, refused(6380), env)).toBe(
      'api: cannot reach Redis at 127.0.0.1:6380 (ECONNREFUSED); start it or fix REDIS_URL',
    );
  });
});

describe('redactSecrets', () => {
  it('takes the password out of any URL with credentials, and leaves the rest', () => {
    expect(redactSecrets('smtp://mailer:hunter22@mx.example.org:587 failed', {})).toBe(
      'smtp://mailer:[REDACTED]@mx.example.org:587 failed',
    );
    expect(redactSecrets('nothing secret here: http://example.org/a:b', {})).toBe('nothing secret here: http://example.org/a:b');
  });
});
