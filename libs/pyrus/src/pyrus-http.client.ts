import { IncomingHttpHeaders } from 'node:http';
import { request } from 'undici';
import { BotTokenStore } from './bot-token.store';
import { BotCredentials, PyrusAuth } from './pyrus-auth';
import { findPostedComment } from './comment-lookup';
import { PyrusApiError } from './pyrus-api.error';
import { ObservedPyrusCall, PyrusCallObserver, pyrusOperation, taskIdOfPath, withoutSecrets } from './pyrus-call.observer';
import { CommentIntent, CommentResult, PyrusCaller, PyrusClient } from './pyrus.client';
import {
  AuthResponse,
  CatalogResponse,
  DiffCatalogRequest,
  FormRegisterRequest,
  FormRegisterResponse,
  FormResponse,
  InboxResponse,
  ProfileResponse,
  PyrusTask,
  SyncCatalogRequest,
  SyncCatalogResponse,
  TaskCommentRequest,
  TaskResponse,
} from './pyrus.types';
import { CallKind, QuotaLimiter, ResponseHeaders } from './quota-limiter';

/** Network errors raised before a byte was sent: the request surely did not reach Pyrus. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

export interface PyrusClientSettings {
  authUrl: string;
  /** Used when /auth gives no api_url, and with a webhook's own token (the webhook carries no api_url). */
  apiUrl: string;
  timeoutMs: number;
  /** Extra tries of a read, or of a write whose failure left nothing on the task, after network errors and 5xx. */
  retries: number;
  /** First retry delay; doubles each time, with jitter. */
  retryBaseMs: number;
}

interface Request {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  body?: unknown;
  kind: CallKind;
  /** Safe to repeat blindly after a network error or a 5xx. */
  idempotent: boolean;
}

/**
 * Pyrus over HTTP (undici): the bot's token shared through Redis and renewed once on a token error, every
 * call counted against the account's quota, a 429 waited out (it never fails the call), reads retried with
 * backoff, and a comment never posted twice. Each HTTP request is reported to the optional observer.
 */
export class PyrusHttpClient extends PyrusClient {
  private readonly settings: PyrusClientSettings;

  constructor(
    settings: PyrusClientSettings,
    private readonly tokens: BotTokenStore,
    private readonly quota: QuotaLimiter,
    private readonly observer?: PyrusCallObserver,
  ) {
    super();
    this.settings = { ...settings, apiUrl: trimSlash(settings.apiUrl) };
  }

  async authenticate(bot: BotCredentials): Promise<PyrusAuth> {
    const call = new ObservedPyrusCall(this.observer, { operation: 'POST /auth', login: bot.login, context: {} }, [bot.securityKey]);
    let body: AuthResponse;
    try {
      const response = await this.requestOnce(
        'POST',
        this.settings.authUrl,
        undefined,
        { login: bot.login, security_key: bot.securityKey },
        'Pyrus auth',
      );
      call.answered(response.status);
      if (!response.ok) throw scrubbed(PyrusApiError.fromResponse(response.status, response.text, 'Pyrus auth'), [bot.securityKey]);
      body = parseJson<AuthResponse>(response.text, response.status, 'Pyrus auth');
    } catch (err) {
      call.failed(err);
      throw err;
    }
    call.ok();
    return {
      accessToken: body.access_token,
      apiUrl: trimSlash(body.api_url ?? this.settings.apiUrl),
      filesUrl: body.files_url ? trimSlash(body.files_url) : undefined,
    };
  }

  async getTask(caller: PyrusCaller, taskId: number): Promise<PyrusTask> {
    return (await this.send<TaskResponse>(caller, { method: 'GET', path: `/tasks/${taskId}`, kind: 'read', idempotent: true })).task;
  }

  async createComment(caller: PyrusCaller, taskId: number, request: TaskCommentRequest, intent: CommentIntent): Promise<CommentResult> {
    const post = {
      method: 'POST' as const,
      path: `/tasks/${taskId}/comments`,
      body: request,
      kind: 'decision' as const,
      idempotent: false,
    };
    for (let attempt = 0; ; attempt++) {
      try {
        const { task } = await this.send<TaskResponse>(caller, post);
        return { task, comment: findPostedComment(task, request, intent), recovered: false };
      } catch (err) {
        if (!(err instanceof PyrusApiError) || !err.retryable || attempt >= this.settings.retries) throw err;
        await this.backoff(attempt);
        if (err.uncertain) {
          // The comment may be on the task already: look before posting again. The read serves a decision.
          const { task } = await this.send<TaskResponse>(caller, {
            method: 'GET',
            path: `/tasks/${taskId}`,
            kind: 'decision',
            idempotent: true,
          });
          const comment = findPostedComment(task, request, intent);
          if (comment) return { task, comment, recovered: true };
        }
      }
    }
  }

  getForm(caller: PyrusCaller, formId: number): Promise<FormResponse> {
    return this.send(caller, { method: 'GET', path: `/forms/${formId}`, kind: 'read', idempotent: true });
  }

  getFormRegister(caller: PyrusCaller, formId: number, request: FormRegisterRequest = {}): Promise<FormRegisterResponse> {
    // POST with a JSON body, as the official TS and C# SDKs do; it reads, so it may be repeated.
    return this.send(caller, { method: 'POST', path: `/forms/${formId}/register`, body: request, kind: 'read', idempotent: true });
  }

  getCatalog(caller: PyrusCaller, catalogId: number, options: { includeDeleted?: boolean } = {}): Promise<CatalogResponse> {
    const query = options.includeDeleted ? '?include_deleted=true' : '';
    return this.send(caller, { method: 'GET', path: `/catalogs/${catalogId}${query}`, kind: 'read', idempotent: true });
  }

  syncCatalog(caller: PyrusCaller, catalogId: number, request: SyncCatalogRequest): Promise<SyncCatalogResponse> {
    // The whole catalog is replaced by the request, so repeating it changes nothing.
    return this.send(caller, { method: 'POST', path: `/catalogs/${catalogId}`, body: request, kind: 'decision', idempotent: true });
  }

  diffCatalog(caller: PyrusCaller, catalogId: number, request: DiffCatalogRequest): Promise<SyncCatalogResponse> {
    return this.send(caller, { method: 'POST', path: `/catalogs/${catalogId}/diff`, body: request, kind: 'decision', idempotent: true });
  }

  getInbox(caller: PyrusCaller, options: { itemCount?: number } = {}): Promise<InboxResponse> {
    const query = options.itemCount ? `?item_count=${options.itemCount}` : '';
    return this.send(caller, { method: 'GET', path: `/inbox${query}`, kind: 'read', idempotent: true });
  }

  getProfile(caller: PyrusCaller): Promise<ProfileResponse> {
    return this.send(caller, { method: 'GET', path: '/profile', kind: 'read', idempotent: true });
  }

  /** One logical call: token, quota, 429 waits, one token renewal, and retries of idempotent calls. */
  private async send<T>(caller: PyrusCaller, request: Request): Promise<T> {
    const what = `${request.method} ${request.path.split('?')[0]}`;
    const { login } = caller.bot;
    const taskId = caller.context?.taskId ?? taskIdOfPath(request.path);
    const observed = {
      operation: pyrusOperation(request.method, request.path),
      login,
      context: { ...caller.context, ...(taskId !== undefined ? { taskId } : {}) },
    };
    let deliveryToken = caller.deliveryToken;
    let renewed = false;
    for (let attempt = 0; ;) {
      const auth = deliveryToken
        ? { accessToken: deliveryToken, apiUrl: (await this.tokens.apiUrl(login)) ?? this.settings.apiUrl }
        : await this.tokens.get(caller.bot);
      const grant = await this.quota.acquire(login, request.kind);
      const call = new ObservedPyrusCall(this.observer, observed, [auth.accessToken, caller.bot.securityKey]);
      let error: PyrusApiError;
      try {
        const response = await this.requestOnce(request.method, `${auth.apiUrl}${request.path}`, auth.accessToken, request.body, what);
        call.answered(response.status);
        await this.quota.observe(login, response.headers, grant);
        if (response.ok) {
          const result = parseJson<T>(response.text, response.status, what);
          call.ok();
          return result;
        }
        if (response.status === 429) {
          // Wait for the window Pyrus names; this is not a failure of the call.
          call.failed(`${what} answered 429: the quota window is spent; waiting for its reset`);
          await this.quota.exhausted(login, response.headers);
          continue;
        }
        error = scrubbed(PyrusApiError.fromResponse(response.status, response.text, what), [auth.accessToken, caller.bot.securityKey]);
      } catch (err) {
        call.failed(err);
        if (!(err instanceof PyrusApiError)) throw err;
        error = err;
      }
      call.failed(error);
      if (error.isTokenProblem && !renewed) {
        // A webhook's token has run out: go on as the bot. Our own: someone must sign in again (once).
        if (deliveryToken) deliveryToken = undefined;
        else await this.tokens.refresh(caller.bot, auth.accessToken);
        renewed = true;
        continue;
      }
      if (!request.idempotent || !error.retryable || attempt >= this.settings.retries) throw error;
      await this.backoff(attempt++);
    }
  }

  private backoff(attempt: number): Promise<void> {
    const base = this.settings.retryBaseMs * 2 ** attempt;
    return new Promise((r) => setTimeout(r, base / 2 + Math.random() * base));
  }

  private async requestOnce(method: 'GET' | 'POST' | 'PUT', url: string, token: string | undefined, body: unknown, what: string) {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token) headers.authorization = `Bearer ${token}`;
    try {
      // undici's request rather than fetch: the same HTTP client under both, without the WHATWG streams and
      // Request/Response objects that made fetch a tenth of the worker's CPU.
      const response = await request(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      });
      const text = await response.body.text();
      const status = response.statusCode;
      return { ok: status >= 200 && status < 300, status, headers: headerReader(response.headers), text };
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError';
      // undici puts the socket's error code on the error itself; fetch put it on the cause.
      const socketError = ((err as { cause?: { code?: string } }).cause ?? err) as { code?: string };
      const sent = !(socketError.code && NOT_SENT_CODES.has(socketError.code));
      throw PyrusApiError.network(what, socketError, timedOut, sent);
    }
  }
}

/** The answer's headers as the quota limiter reads them (a fetch `Headers` reads the same way). */
function headerReader(headers: IncomingHttpHeaders): ResponseHeaders {
  const get = (name: string) => {
    const value = headers[name];
    return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
  };
  return { get, has: (name) => headers[name] !== undefined };
}

function parseJson<T>(text: string, status: number, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    // A 2xx we cannot read: the call probably took effect, so a write must not be repeated blindly.
    throw new PyrusApiError(`${what} answered ${status} with a body that is not JSON`, status, 'invalid_response', true, true);
  }
}

/** An error that quotes Pyrus's answer, without the call's token or key should the answer echo them (it goes into logs and rows). */
function scrubbed(error: PyrusApiError, secrets: string[]): PyrusApiError {
  const message = withoutSecrets(error.message, secrets);
  return message === error.message ? error : new PyrusApiError(message, error.status, error.errorCode, error.retryable, error.uncertain);
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
