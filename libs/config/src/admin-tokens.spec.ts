import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAdminTokens, parseTrustProxy } from './admin-tokens';

const sha = (token: string) => createHash('sha256').update(token).digest('hex');
const dir = mkdtempSync(join(tmpdir(), 'admin-tokens-'));

describe('loadAdminTokens', () => {
  it('reads name:role:sha256 entries from the variable, hashes in lower case', () => {
    const tokens = loadAdminTokens(`alice:auditor:${sha('a').toUpperCase()}, ops:operator:${sha('o')}`);
    expect(tokens).toEqual([
      { name: 'alice', role: 'auditor', sha256: sha('a') },
      { name: 'ops', role: 'operator', sha256: sha('o') },
    ]);
  });

  it('reads a JSON file the variable names', () => {
    const path = join(dir, 'tokens.json');
    writeFileSync(path, JSON.stringify({ tokens: [{ name: 'carol', role: 'operator', sha256: sha('c') }] }));
    expect(loadAdminTokens(path)).toEqual([{ name: 'carol', role: 'operator', sha256: sha('c') }]);
  });

  it('is empty when unset', () => {
    expect(loadAdminTokens(undefined)).toEqual([]);
  });

  it('stops the boot naming the bad token, without printing its hash', () => {
    expect(() => loadAdminTokens(`alice:admin:${sha('a')}`)).toThrow(/token "alice" has role "admin"; use auditor or operator/);
    expect(() => loadAdminTokens('alice:auditor:abc')).toThrow(/token "alice" needs "sha256"/);
    expect(() => loadAdminTokens(`a:auditor:${sha('x')},a:operator:${sha('y')}`)).toThrow(/two tokens are named "a"/);
    expect(() => loadAdminTokens(`a:auditor:${sha('x')},b:operator:${sha('x')}`)).toThrow(/token "b" has the same hash/);
    try {
      loadAdminTokens(`a:auditor:${sha('x')},b:operator:${sha('x')}`);
    } catch (err) {
      expect((err as Error).message).not.toContain(sha('x'));
    }
  });

  it('says when the variable is neither a list nor a readable file', () => {
    expect(() => loadAdminTokens(join(dir, 'missing.json'))).toThrow(/ADMIN_TOKENS: neither .* cannot be read/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"tokens": 1}');
    expect(() => loadAdminTokens(bad)).toThrow(/must hold \{"tokens"/);
  });
});

describe('parseTrustProxy', () => {
  it('maps the variable to Express settings', () => {
    expect(parseTrustProxy(undefined)).toBe(false);
    expect(parseTrustProxy('false')).toBe(false);
    expect(parseTrustProxy('true')).toBe(true);
    expect(parseTrustProxy('2')).toBe(2);
    expect(parseTrustProxy('loopback, 10.0.0.0/8')).toBe('loopback, 10.0.0.0/8');
  });
});
