import { createHmac, timingSafeEqual } from 'node:crypto';

/** Lower-case hex HMAC-SHA1 of the raw body, as Pyrus computes X-Pyrus-Sig (it may send it in upper case). */
export function signPyrusBody(rawBody: Buffer | string, securityKey: string): string {
  return createHmac('sha1', Buffer.from(securityKey, 'utf8')).update(rawBody).digest('hex');
}

const SHA1_HEX = /^[0-9a-fA-F]{40}$/;

/**
 * True when `signature` is the HMAC-SHA1 of the exact raw bytes under any of the keys. Compared in constant time,
 * hex in any letter case; every key is tried, so the time does not tell which one matched.
 */
export function verifyPyrusSignature(rawBody: Buffer, signature: string | undefined, securityKeys: string[]): boolean {
  if (!signature) return false;
  const candidate = signature.trim();
  if (!SHA1_HEX.test(candidate)) return false;
  const received = Buffer.from(candidate.toLowerCase(), 'hex');
  let matched = false;
  for (const key of securityKeys) {
    const expected = createHmac('sha1', Buffer.from(key, 'utf8')).update(rawBody).digest();
    if (timingSafeEqual(expected, received)) matched = true;
  }
  return matched;
}
