import { QuotaSnapshot } from './emulator.types';

interface Window {
  start: number;
  used: number;
  rejected: number;
  total: number;
}

/** The window the bots of a company share when the emulator's quotaScope is 'company'. */
export const COMPANY_QUOTA = 'company';

export interface QuotaDecision {
  allowed: boolean;
  headers: Record<string, string>;
}

/** Fixed-window quota per bot account: `limit` calls per `windowMs`, the window opening at the first call. */
export class QuotaMeter {
  private readonly windows = new Map<string, Window>();

  constructor(
    public limit: number,
    public windowMs: number,
  ) {}

  take(bot: string, now = Date.now()): QuotaDecision {
    const w = this.current(bot, now);
    const allowed = w.used < this.limit;
    if (allowed) {
      w.used += 1;
      w.total += 1;
    } else {
      w.rejected += 1;
    }
    return { allowed, headers: this.headers(w, now) };
  }

  snapshot(bot: string, now = Date.now()): QuotaSnapshot {
    const w = this.windows.get(bot);
    const open = w && now < w.start + this.windowMs;
    const used = open ? w.used : 0;
    return {
      bot,
      limit: this.limit,
      windowMs: this.windowMs,
      used,
      remaining: Math.max(0, this.limit - used),
      resetInMs: open ? w.start + this.windowMs - now : 0,
      rejected: w?.rejected ?? 0,
      total: w?.total ?? 0,
    };
  }

  bots(): string[] {
    return [...this.windows.keys()];
  }

  reset(bot?: string): void {
    if (bot) this.windows.delete(bot);
    else this.windows.clear();
  }

  private current(bot: string, now: number): Window {
    let w = this.windows.get(bot);
    if (!w) {
      w = { start: now, used: 0, rejected: 0, total: 0 };
      this.windows.set(bot, w);
    } else if (now >= w.start + this.windowMs) {
      w.start = now;
      w.used = 0;
    }
    return w;
  }

  private headers(w: Window, now: number): Record<string, string> {
    return {
      'X-RateLimit-Limit': String(this.limit),
      'X-RateLimit-Remaining': String(Math.max(0, this.limit - w.used)),
      'X-RateLimit-Reset': String(Math.max(0, Math.ceil((w.start + this.windowMs - now) / 1000))),
    };
  }
}
