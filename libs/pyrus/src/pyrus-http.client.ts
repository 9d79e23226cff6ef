import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AppConfiguration } from '@app/config';
import { PyrusApiError } from './pyrus-api.error';
import { CommentResult, PyrusAuth, PyrusClient } from './pyrus.client';
import { AuthResponse, PyrusTask, TaskCommentRequest, TaskResponse } from './pyrus.types';

/** Network errors raised before a byte was sent: the request surely did not reach Pyrus. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

@Injectable()
export class PyrusHttpClient extends PyrusClient {
  private readonly authUrl: string;
  private readonly defaultApiUrl: string;
  private readonly timeoutMs: number;

  constructor(config: ConfigService<AppConfiguration, true>) {
    super();
    const pyrus = config.get('pyrus', { infer: true });
    this.authUrl = pyrus.authUrl;
    this.defaultApiUrl = pyrus.apiUrl;
    this.timeoutMs = pyrus.timeoutMs;
  }

  async authenticate(login: string, securityKey: string): Promise<PyrusAuth> {
    const body = await this.request<AuthResponse>('POST', this.authUrl, undefined, { login, security_key: securityKey }, 'Pyrus auth');
    return { accessToken: body.access_token, apiUrl: (body.api_url ?? this.defaultApiUrl).replace(/\/+$/, '') };
  }

  async getTask(auth: PyrusAuth, taskId: number): Promise<PyrusTask> {
    const body = await this.request<TaskResponse>('GET', `${auth.apiUrl}/tasks/${taskId}`, auth.accessToken, undefined, `GET /tasks/${taskId}`);
    return body.task;
  }

  async createComment(auth: PyrusAuth, taskId: number, comment: TaskCommentRequest): Promise<CommentResult> {
    const what = `POST /tasks/${taskId}/comments`;
    const body = await this.request<TaskResponse>('POST', `${auth.apiUrl}/tasks/${taskId}/comments`, auth.accessToken, comment, what);
    return { status: 200, task: body.task };
  }

  private async request<T>(method: string, url: string, token: string | undefined, body: unknown, what: string): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token) headers.authorization = `Bearer ${token}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError';
      const error = PyrusApiError.network(what, (err as { cause?: unknown }).cause ?? err, timedOut);
      const code = ((err as { cause?: { code?: string } }).cause ?? {}).code;
      return Promise.reject(code && NOT_SENT_CODES.has(code) ? withCertainty(error, false) : error);
    }
    const text = await response.text();
    if (!response.ok) throw PyrusApiError.fromResponse(response.status, text, what);
    try {
      return JSON.parse(text) as T;
    } catch {
      // 2xx with a body we cannot read: the call probably took effect, so a write must not be repeated blindly.
      throw new PyrusApiError(`${what} answered ${response.status} with a body that is not JSON`, response.status, 'invalid_response', true, true);
    }
  }
}

function withCertainty(error: PyrusApiError, uncertain: boolean): PyrusApiError {
  return new PyrusApiError(error.message, error.status, error.errorCode, error.retryable, uncertain);
}
