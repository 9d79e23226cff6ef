import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { signPyrusBody, verifyPyrusSignature } from './signature';

const fixture = readFileSync(resolve(__dirname, '../../../test/fixtures/pyrus/event.json'));

describe('verifyPyrusSignature', () => {
  const key = 'current-key';

  it('matches a known HMAC-SHA1 vector', () => {
    // RFC 2202 test case 2.
    expect(signPyrusBody('what do ya want for nothing?', 'Jefe')).toBe('effcdf6ae5eb2fa2d27416d5f184df9c259a7c79');
  });

  it('accepts the signature in lower and in upper case', () => {
    const sig = signPyrusBody(fixture, key);
    expect(verifyPyrusSignature(fixture, sig, [key])).toBe(true);
    expect(verifyPyrusSignature(fixture, sig.toUpperCase(), [key])).toBe(true);
  });

  it('accepts a signature made with the second (previous) key', () => {
    expect(verifyPyrusSignature(fixture, signPyrusBody(fixture, 'old-key'), [key, 'old-key'])).toBe(true);
  });

  it('rejects a signature made with a wrong key', () => {
    expect(verifyPyrusSignature(fixture, signPyrusBody(fixture, 'wrong'), [key, 'old-key'])).toBe(false);
  });

  it('rejects a tampered body', () => {
    const sig = signPyrusBody(fixture, key);
    const tampered = Buffer.from(fixture.toString('utf8').replace('"task_id": 123456', '"task_id": 123457'));
    expect(tampered.equals(fixture)).toBe(false);
    expect(verifyPyrusSignature(tampered, sig, [key])).toBe(false);
  });

  it('checks the raw bytes, so a body with \\uXXXX escapes verifies only as sent', () => {
    const raw = Buffer.from('{"task_id":1,"task":{"text":"\\u041f\\u0440\\u0438\\u043c\\u0435\\u0440"}}');
    const sig = signPyrusBody(raw, key);
    expect(verifyPyrusSignature(raw, sig, [key])).toBe(true);
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(raw.toString())));
    expect(reserialised.toString()).toContain('Пример');
    expect(verifyPyrusSignature(reserialised, sig, [key])).toBe(false);
  });

  it('rejects a missing, empty, short or non-hex header without throwing', () => {
    for (const header of [undefined, '', 'abc', 'z'.repeat(40), `sha1=${signPyrusBody(fixture, key)}`]) {
      expect(verifyPyrusSignature(fixture, header, [key])).toBe(false);
    }
  });
});
