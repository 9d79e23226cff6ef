export const REDACTED = '[REDACTED]';

/**
 * Replaces every secret (and its URL-encoded form) in a text meant for an error message. Used on texts we do not
 * write ourselves: an upstream's error body may echo the request's headers, a library's message may quote its URL.
 */
export function scrubSecrets(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    // Very short values would blank out ordinary words; a credential is never this short.
    if (!secret || secret.length < 4) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) out = out.split(form).join(REDACTED);
  }
  return out;
}

/**
 * The secret forms of an auth header value: the whole value and its credential without the scheme ("Bearer abc" gives
 * "Bearer abc" and "abc", not "Bearer"); for Basic also the decoded "user:password" and the password.
 */
export function authValueSecrets(value: string | undefined): string[] {
  if (!value) return [];
  const [first, ...rest] = value.trim().split(/\s+/);
  const credential = rest.length > 0 ? rest.join(' ') : first;
  const secrets = [value, credential];
  if (first.toLowerCase() === 'basic' && rest.length > 0) {
    const decoded = Buffer.from(credential, 'base64').toString('utf8');
    secrets.push(decoded, decoded.slice(decoded.indexOf(':') + 1));
  }
  return secrets;
}

/** A short, one-line excerpt of a response body for a message (an HTML error page, say). */
export function bodyExcerpt(text: string, max = 160): string {
  return text
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, max);
}
