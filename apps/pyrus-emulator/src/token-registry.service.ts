import { randomBytes } from 'node:crypto';
import { EmulatorHttpError } from './emulator.types';

interface TokenEntry {
  bot: string;
  issuedAt: number;
  expiresAt: number;
  revoked?: boolean;
}

/** Access tokens: a lifetime, and (optionally) a per-bot maximum where a new token revokes the oldest. */
export class TokenRegistry {
  private readonly tokens = new Map<string, TokenEntry>();

  constructor(
    public ttlMs: number,
    public maxPerBot: number,
  ) {}

  issue(bot: string, countsTowardsLimit = true): string {
    const token = randomBytes(24).toString('base64url');
    const now = Date.now();
    this.tokens.set(token, { bot, issuedAt: now, expiresAt: now + this.ttlMs, revoked: false });
    if (countsTowardsLimit && this.maxPerBot > 0) {
      const live = [...this.tokens.entries()]
        .filter(([, e]) => e.bot === bot && !e.revoked && e.expiresAt > now)
        .sort((a, b) => a[1].issuedAt - b[1].issuedAt);
      for (const [, entry] of live.slice(0, Math.max(0, live.length - this.maxPerBot))) entry.revoked = true;
    }
    return token;
  }

  /** The bot name for a bearer token, or an EmulatorHttpError 401 with the code Pyrus uses. */
  resolve(authorization: string | undefined): string {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!authorization || !authorization.trim()) {
      throw new EmulatorHttpError(401, 'token_not_specified', 'Токен авторизации не указан.');
    }
    const entry = match ? this.tokens.get(match[1]) : undefined;
    if (!entry) throw new EmulatorHttpError(401, 'invalid_token', 'Неверный токен авторизации.');
    if (entry.revoked) throw new EmulatorHttpError(401, 'revoked_token', 'Токен авторизации отозван.');
    if (entry.expiresAt <= Date.now()) throw new EmulatorHttpError(401, 'expired_token', 'Срок действия токена авторизации истёк.');
    return entry.bot;
  }

  /** Makes every token (of one bot, or all) expired at once. */
  expire(bot?: string): void {
    for (const entry of this.tokens.values()) if (!bot || entry.bot === bot) entry.expiresAt = 0;
  }

  /** Revokes every token of a bot (as a reset of its security key does). */
  revoke(bot: string): void {
    for (const entry of this.tokens.values()) if (entry.bot === bot) entry.revoked = true;
  }

  liveCount(bot: string): number {
    const now = Date.now();
    return [...this.tokens.values()].filter((e) => e.bot === bot && !e.revoked && e.expiresAt > now).length;
  }
}
