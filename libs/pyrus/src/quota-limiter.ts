import Redis from 'ioredis';

/** What a call is for: decisions (comments, votes) may use the whole quota, reads leave a reserve for them. */
export type CallKind = 'decision' | 'read';

export interface QuotaSettings {
  /** Calls per window per bot account (Pyrus: 5000 per 10 minutes), until Pyrus's X-RateLimit-Limit says otherwise. */
  limit: number;
  windowMs: number;
  /** Share of the window's calls that reads may not take, so decisions are not starved by reads. */
  decisionReserve: number;
  /** `bot`: each bot account has its window (the default); `company`: every account's calls share one. */
  scope?: 'bot' | 'company';
}

// KEYS: counter, limit; ARGV: configured limit, reserve share, kind, window ms. Returns {ms to wait}, or {0, calls
// counted with this one, ms left in the window, the limit stored from Pyrus's headers or -1}.
const ACQUIRE = `
local stored = redis.call('GET', KEYS[2])
local limit = tonumber(stored or ARGV[1])
local cap = limit
if ARGV[3] == 'read' then cap = limit - math.ceil(limit * tonumber(ARGV[2])) end
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('PTTL', KEYS[1])
if used >= cap then
  if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[4]); ttl = tonumber(ARGV[4]) end
  return {math.max(ttl, 1)}
end
used = redis.call('INCR', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[4]); ttl = tonumber(ARGV[4]) end
return {0, used, ttl, stored and tonumber(stored) or -1}`;

// KEYS: counter, limit; ARGV: Pyrus's used count (limit - remaining), ms to reset, Pyrus's limit, exact ('1' when
// this call opened the window, so ARGV[2] is exact rather than rounded up to a whole second).
const OBSERVE = `
if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[2], ARGV[3], 'PX', 86400000) end
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('PTTL', KEYS[1])
if tonumber(ARGV[1]) > used then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
elseif ARGV[4] == '1' or ttl < 0 or math.abs(ttl - tonumber(ARGV[2])) > 1500 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1`;

/** How the shared counter stood when a call was counted: lets `observe` skip a round trip that would change nothing. */
export interface QuotaGrant {
  /** Calls counted in the window, this one included. */
  used: number;
  /** When the window ends, as the counter's TTL said (Date.now() scale). */
  endsAt: number;
  /** The limit learnt from Pyrus's headers, or null while none is stored. */
  limit: number | null;
}

/** What the limiter reads of an answer's headers; a fetch `Headers` is one. */
export interface ResponseHeaders {
  get(name: string): string | null;
  has(name: string): boolean;
}

/**
 * The Pyrus quota of each bot account (or, with scope `company`, of all of them together), counted in Redis so that
 * every api and worker process draws on one budget. Pyrus's X-RateLimit-* headers correct the count (other clients may use the same account); a 429 marks
 * the window spent until its reset.
 */
export class QuotaLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly keyOf: (...parts: string[]) => string,
    private readonly settings: QuotaSettings,
  ) {}

  /** Waits until the account may make one more call of this kind, and counts it. */
  async acquire(login: string, kind: CallKind): Promise<QuotaGrant> {
    for (;;) {
      const [waitMs, used, ttlMs, limit] = (await this.redis.eval(
        ACQUIRE,
        2,
        this.counterKey(login),
        this.limitKey(login),
        this.settings.limit,
        this.settings.decisionReserve,
        kind,
        this.settings.windowMs,
      )) as number[];
      if (waitMs <= 0) return { used, endsAt: Date.now() + ttlMs, limit: limit >= 0 ? limit : null };
      // Re-check at least every second: a header may open the window early, and jitter spreads the waiters.
      await new Promise((r) => setTimeout(r, Math.min(waitMs, 1000) + Math.random() * 50));
    }
  }

  /**
   * Adopts what Pyrus's headers say about the current window. With the call's grant, skips the round trip when the
   * script would change nothing, judged by the same tests on the counter as the grant saw it.
   */
  async observe(login: string, headers: ResponseHeaders, grant?: QuotaGrant): Promise<void> {
    const remaining = Number(headers.get('x-ratelimit-remaining'));
    const resetS = Number(headers.get('x-ratelimit-reset'));
    const limit = Number(headers.get('x-ratelimit-limit')) || 0;
    if (!headers.has('x-ratelimit-remaining') || !Number.isFinite(remaining) || !Number.isFinite(resetS)) return;
    const used = Math.max(0, (limit || this.settings.limit) - remaining);
    // X-RateLimit-Reset is whole seconds, up to a second late. When this call opened Pyrus's window, the window
    // ends one window length after Pyrus received it: at most one round trip before now, so never early.
    const opened = used === 1;
    const resetMs = opened ? this.settings.windowMs : Math.max(1000, resetS * 1000);
    if (grant && !opened && changesNothing(grant, used, resetMs, limit)) return;
    await this.redis.eval(OBSERVE, 2, this.counterKey(login), this.limitKey(login), used, resetMs, limit, opened ? '1' : '0');
  }

  /** After a 429: the window is spent until Pyrus resets it. Returns how long that is. */
  async exhausted(login: string, headers: ResponseHeaders): Promise<number> {
    const resetS = Number(headers.get('x-ratelimit-reset') ?? headers.get('retry-after'));
    const resetMs = Number.isFinite(resetS) && resetS > 0 ? resetS * 1000 : this.settings.windowMs;
    const limit = Number(headers.get('x-ratelimit-limit')) || this.settings.limit;
    await this.redis.set(this.counterKey(login), String(limit), 'PX', resetMs);
    return resetMs;
  }

  /** Calls counted in the current window (for metrics and tests). */
  async used(login: string): Promise<number> {
    return Number((await this.redis.get(this.counterKey(login))) ?? 0);
  }

  /** The account's current window as all processes share it: its limit (Pyrus's, else the configured one), calls left. */
  async window(login: string): Promise<{ limit: number; used: number; remaining: number }> {
    const [used, limit] = await this.redis.mget(this.counterKey(login), this.limitKey(login));
    const max = Number(limit ?? this.settings.limit) || this.settings.limit;
    const spent = Number(used ?? 0) || 0;
    return { limit: max, used: spent, remaining: Math.max(0, max - spent) };
  }

  private counterKey(login: string) {
    return this.keyOf('pyrus', 'quota', this.windowOf(login));
  }

  private limitKey(login: string) {
    return this.keyOf('pyrus', 'quota-limit', this.windowOf(login));
  }

  /** The window a login's calls count in; `*` cannot be a Pyrus login, so it never names one account's window. */
  private windowOf(login: string): string {
    return this.settings.scope === 'company' ? '*' : login;
  }
}

/**
 * OBSERVE's tests, on the counter as the grant left it: Pyrus's limit is the one stored (or it sent none), it counts no
 * more calls than we did, and its reset is within OBSERVE's 1.5 s of where our window ends. Other processes only add
 * calls to the counter meanwhile; the margin keeps a window that ended since the grant out of it.
 */
function changesNothing(grant: QuotaGrant, pyrusUsed: number, resetMs: number, pyrusLimit: number): boolean {
  const ttlNow = grant.endsAt - Date.now();
  return (pyrusLimit === 0 || pyrusLimit === grant.limit) && pyrusUsed <= grant.used && ttlNow > 1500 && Math.abs(ttlNow - resetMs) <= 1500;
}
