import { createHash, timingSafeEqual } from 'node:crypto';
import { AdminRole, AdminTokenConfig } from '@app/config';

/** Who an admin request comes from: the token's name and role, never the token. */
export interface AdminActor {
  name: string;
  role: AdminRole;
}

/** Roles in order of power: an operator may do everything an auditor may. */
const RANK: Record<AdminRole, number> = { auditor: 1, operator: 2 };

export function roleAllows(actual: AdminRole, required: AdminRole): boolean {
  return RANK[actual] >= RANK[required];
}

/**
 * Checks a presented token against the configured SHA-256 hashes. Every hash is compared, in constant time, whatever
 * matched first: the time taken says nothing about which token (or how much of one) was right.
 */
export class AdminTokenVerifier {
  private readonly hashes: Array<{ digest: Buffer; actor: AdminActor }>;

  constructor(tokens: AdminTokenConfig[]) {
    this.hashes = tokens.map((t) => ({ digest: Buffer.from(t.sha256, 'hex'), actor: { name: t.name, role: t.role } }));
  }

  get configured(): boolean {
    return this.hashes.length > 0;
  }

  verify(token: string): AdminActor | undefined {
    const digest = createHash('sha256').update(token, 'utf8').digest();
    let found: AdminActor | undefined;
    for (const entry of this.hashes) {
      if (timingSafeEqual(digest, entry.digest) && !found) found = entry.actor;
    }
    return found;
  }
}

/**
 * The token from `Authorization: Bearer <token>`; for the Bull Board pages, which a browser opens, also from HTTP
 * Basic (any user name, the token as the password).
 */
export function tokenFromAuthorization(header: string | undefined, allowBasic = false): string | undefined {
  if (!header) return undefined;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer) return bearer[1];
  if (!allowBasic) return undefined;
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!basic) return undefined;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 && colon < decoded.length - 1 ? decoded.slice(colon + 1) : undefined;
}
