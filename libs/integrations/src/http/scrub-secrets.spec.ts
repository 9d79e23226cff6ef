import { authValueSecrets, bodyExcerpt, scrubSecrets } from './scrub-secrets';

describe('scrubSecrets', () => {
  it('replaces each secret and its URL-encoded form', () => {
    expect(scrubSecrets('key=p@ss/word! or p%40ss%2Fword!', ['p@ss/word!'])).toBe('key=[REDACTED] or [REDACTED]');
  });

  it('ignores empty and very short values', () => {
    expect(scrubSecrets('a b c', ['', undefined, 'a'])).toBe('a b c');
  });

  it('redacts the credential of an auth header, not its scheme', () => {
    const secrets = authValueSecrets('Bearer sk-live-123456');
    expect(scrubSecrets('Bearer token sk-live-123456 refused', secrets)).toBe('Bearer token [REDACTED] refused');
    expect(scrubSecrets('got "Bearer sk-live-123456"', secrets)).toBe('got "[REDACTED]"');
  });

  it('redacts the decoded password of a Basic header', () => {
    const secrets = authValueSecrets(`Basic ${Buffer.from('erp-user:erp-Passw0rd').toString('base64')}`);
    expect(scrubSecrets('login erp-user:erp-Passw0rd, password erp-Passw0rd', secrets)).toBe('login [REDACTED], password [REDACTED]');
  });

  it('takes a bare value as the secret', () => {
    expect(authValueSecrets('k3y-value')).toEqual(['k3y-value', 'k3y-value']);
  });
});

describe('bodyExcerpt', () => {
  it('turns an HTML page into one short line of text', () => {
    expect(bodyExcerpt('<html>\n<body>\n<h1>502 Bad Gateway</h1>\n<hr><center>nginx</center>\n</body></html>')).toBe(
      '502 Bad Gateway nginx',
    );
    expect(bodyExcerpt('x'.repeat(500))).toHaveLength(160);
  });
});
