import { createHash } from 'node:crypto';
import { AdminTokenVerifier, roleAllows, tokenFromAuthorization } from './admin-token.verifier';

const sha = (token: string) => createHash('sha256').update(token).digest('hex');

describe('AdminTokenVerifier', () => {
  const verifier = new AdminTokenVerifier([
    { name: 'alice', role: 'auditor', sha256: sha('token-a') },
    { name: 'olga', role: 'operator', sha256: sha('token-o') },
  ]);

  it('names the token holder and role, and nobody for an unknown or partial token', () => {
    expect(verifier.verify('token-a')).toEqual({ name: 'alice', role: 'auditor' });
    expect(verifier.verify('token-o')).toEqual({ name: 'olga', role: 'operator' });
    expect(verifier.verify('token-')).toBeUndefined();
    expect(verifier.verify(sha('token-a'))).toBeUndefined();
    expect(new AdminTokenVerifier([]).verify('anything')).toBeUndefined();
  });

  it('an operator may do what an auditor may, not the other way round', () => {
    expect(roleAllows('operator', 'auditor')).toBe(true);
    expect(roleAllows('auditor', 'operator')).toBe(false);
  });
});

describe('tokenFromAuthorization', () => {
  it('reads Bearer always, Basic (the password) only where allowed', () => {
    expect(tokenFromAuthorization('Bearer abc')).toBe('abc');
    expect(tokenFromAuthorization('bearer abc ')).toBe('abc');
    const basic = `Basic ${Buffer.from('me:s3cret:with-colon').toString('base64')}`;
    expect(tokenFromAuthorization(basic)).toBeUndefined();
    expect(tokenFromAuthorization(basic, true)).toBe('s3cret:with-colon');
    expect(tokenFromAuthorization(`Basic ${Buffer.from('me:').toString('base64')}`, true)).toBeUndefined();
    expect(tokenFromAuthorization(undefined)).toBeUndefined();
    expect(tokenFromAuthorization('Token abc')).toBeUndefined();
  });
});
