import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from './config.error';

export type AdminRole = 'auditor' | 'operator';
export const ADMIN_ROLES: readonly AdminRole[] = ['auditor', 'operator'];

/** One admin API token: only its SHA-256 is configured, never the token itself. */
export interface AdminTokenConfig {
  name: string;
  role: AdminRole;
  /** Lower-case hex SHA-256 of the token. */
  sha256: string;
}

const TOKEN_NAME = /^[A-Za-z0-9._@-]{1,64}$/;
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;
/** `name:role:sha256` — a list in the variable itself, as opposed to the path of a file. */
const INLINE_ENTRY = /^[^:,\s]+:[^:,\s]+:[^:,\s]+$/;

/**
 * ADMIN_TOKENS is either a comma-separated list of `name:role:sha256hex`, or the path of a JSON file holding
 * `{"tokens": [{"name", "role", "sha256"}]}` (or the bare array). Unset: no token opens the admin API.
 */
export function loadAdminTokens(value: string | undefined, cwd = process.cwd()): AdminTokenConfig[] {
  if (!value) return [];
  const entries = value
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  if (entries.every((e) => INLINE_ENTRY.test(e))) {
    return validateTokens(
      entries.map((entry) => {
        const [name, role, sha256] = entry.split(':');
        return { name, role, sha256 };
      }),
      'ADMIN_TOKENS',
    );
  }
  const path = resolve(cwd, value);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ? 'cannot be read' : 'is not valid JSON';
    throw new ConfigError(`ADMIN_TOKENS: neither a list of name:role:sha256 entries nor a readable JSON file (${path} ${reason})`);
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { tokens?: unknown })?.tokens;
  if (!Array.isArray(list)) throw new ConfigError(`ADMIN_TOKENS: ${path} must hold {"tokens": [{"name", "role", "sha256"}]}`);
  return validateTokens(list, `ADMIN_TOKENS file ${path}`);
}

function validateTokens(list: unknown[], where: string): AdminTokenConfig[] {
  const names = new Set<string>();
  const hashes = new Set<string>();
  return list.map((item, i) => {
    const { name, role, sha256 } = (item ?? {}) as Record<string, unknown>;
    const label = typeof name === 'string' && name ? `token "${name}"` : `token #${i + 1}`;
    if (typeof name !== 'string' || !TOKEN_NAME.test(name))
      throw new ConfigError(`${where}: ${label} needs a name of letters, digits and . _ @ -`);
    if (!ADMIN_ROLES.includes(role as AdminRole))
      throw new ConfigError(`${where}: ${label} has role "${String(role)}"; use ${ADMIN_ROLES.join(' or ')}`);
    // The hash itself stays out of the message: it is not the token, but there is no reason to print it.
    if (typeof sha256 !== 'string' || !SHA256_HEX.test(sha256))
      throw new ConfigError(`${where}: ${label} needs "sha256", the token's SHA-256 in 64 hex digits`);
    if (names.has(name)) throw new ConfigError(`${where}: two tokens are named "${name}"`);
    const hash = sha256.toLowerCase();
    if (hashes.has(hash)) throw new ConfigError(`${where}: ${label} has the same hash as another token`);
    names.add(name);
    hashes.add(hash);
    return { name, role: role as AdminRole, sha256: hash };
  });
}

/** TRUST_PROXY as Express's "trust proxy" setting: false, true, a hop count, or a list of addresses/subnets. */
export function parseTrustProxy(value: string | undefined): boolean | number | string {
  if (value === undefined || value === '' || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}
