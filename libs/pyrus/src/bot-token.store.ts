import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { PyrusApiError } from './pyrus-api.error';
import { BotCredentials, PyrusAuth } from './pyrus-auth';

const LOCK_MS = 15_000;
const WAIT_STEP_MS = 100;
/** After invalid_credentials / account_blocked, /auth is not called again for this long. */
const CREDENTIAL_FAILURE_MS = 5 * 60_000;
/**
 * How long a process uses a bot's api_url without reading Redis again. It changes only when the bot signs in anew, and
 * calls made with a webhook's own token need nothing else from Redis.
 */
const API_URL_MEMO_MS = 30_000;
const RELEASE_LOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/**
 * One Pyrus token per bot, kept in Redis for every process. Pyrus silently revokes a user's oldest token when it
 * issues too many, so only one process at a time may call /auth for a bot (a Redis lock); the others wait for the
 * token it stores. Within a process, concurrent callers share one refresh.
 */
export class BotTokenStore {
  private readonly refreshing = new Map<string, Promise<PyrusAuth>>();
  private readonly apiUrls = new Map<string, { apiUrl: string | undefined; until: number }>();

  constructor(
    private readonly redis: Redis,
    private readonly keyOf: (...parts: string[]) => string,
    private readonly signIn: (bot: BotCredentials) => Promise<PyrusAuth>,
  ) {}

  /** The cached token, or a fresh one. */
  async get(bot: BotCredentials): Promise<PyrusAuth> {
    return (await this.cached(bot.login)) ?? this.refresh(bot);
  }

  async cached(login: string): Promise<PyrusAuth | undefined> {
    const text = await this.redis.get(this.keyOf('pyrus', 'token', login));
    const auth = text ? (JSON.parse(text) as PyrusAuth) : undefined;
    this.rememberApiUrl(login, auth);
    return auth;
  }

  /** The api_url of the bot's current sign-in, if any, as read from Redis at most API_URL_MEMO_MS ago. */
  async apiUrl(login: string): Promise<string | undefined> {
    const memo = this.apiUrls.get(login);
    if (memo && memo.until > Date.now()) return memo.apiUrl;
    return (await this.cached(login))?.apiUrl;
  }

  private rememberApiUrl(login: string, auth: PyrusAuth | undefined): void {
    this.apiUrls.set(login, { apiUrl: auth?.apiUrl, until: Date.now() + API_URL_MEMO_MS });
  }

  /** Why the bot cannot sign in (invalid_credentials, account_blocked), while that is fresh. */
  async credentialFailure(login: string): Promise<string | undefined> {
    return (await this.redis.get(this.keyOf('pyrus', 'auth-failed', login))) ?? undefined;
  }

  /**
   * A token other than `stale`: the one another process stored meanwhile, or a new one from /auth.
   */
  refresh(bot: BotCredentials, stale?: string): Promise<PyrusAuth> {
    const running = this.refreshing.get(bot.login);
    if (running) return running;
    const refresh = this.refreshShared(bot, stale).finally(() => this.refreshing.delete(bot.login));
    this.refreshing.set(bot.login, refresh);
    return refresh;
  }

  private async refreshShared(bot: BotCredentials, stale: string | undefined): Promise<PyrusAuth> {
    const tokenKey = this.keyOf('pyrus', 'token', bot.login);
    const lockKey = this.keyOf('pyrus', 'token-lock', bot.login);
    const failedKey = this.keyOf('pyrus', 'auth-failed', bot.login);
    const owner = randomUUID();
    const deadline = Date.now() + LOCK_MS * 2;
    while (Date.now() < deadline) {
      const current = await this.cached(bot.login);
      if (current && current.accessToken !== stale) return current;
      const failure = await this.redis.get(failedKey);
      if (failure) throw new PyrusApiError(`Pyrus auth for ${bot.login} failed: ${failure}`, 401, failure.split(':')[0], false, false);
      if (await this.redis.set(lockKey, owner, 'PX', LOCK_MS, 'NX')) {
        try {
          const auth = await this.signIn(bot);
          await this.redis.set(tokenKey, JSON.stringify(auth));
          this.rememberApiUrl(bot.login, auth);
          return auth;
        } catch (err) {
          if (err instanceof PyrusApiError && err.isCredentialProblem) {
            await this.redis.set(failedKey, `${err.errorCode}: ${err.message}`, 'PX', CREDENTIAL_FAILURE_MS);
          }
          throw err;
        } finally {
          await this.redis.eval(RELEASE_LOCK, 1, lockKey, owner);
        }
      }
      await new Promise((r) => setTimeout(r, WAIT_STEP_MS));
    }
    throw new PyrusApiError(`Timed out waiting for another process to sign ${bot.login} in`, 0, 'auth_wait_timeout', true, false);
  }
}
