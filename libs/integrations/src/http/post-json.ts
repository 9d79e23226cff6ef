/** Network errors raised before a byte was sent: the request surely did not reach the server. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

export interface JsonResponse {
  status: number;
  headers: Headers;
  text: string;
}

/** Why a request got no answer; `sent` is false when it surely never left (connection refused, unknown host). */
export class NoResponseError extends Error {
  constructor(
    readonly reason: 'timeout' | 'network',
    readonly detail: string,
    readonly sent: boolean,
  ) {
    super(reason === 'timeout' ? 'timed out' : `failed: ${detail}`);
    this.name = 'NoResponseError';
  }
}

/** One POST of a JSON body with Node's fetch; any answer is returned, only a missing one throws NoResponseError. */
export async function postJson(url: string, headers: Record<string, string>, body: unknown, timeoutMs: number): Promise<JsonResponse> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: response.status, headers: response.headers, text: await response.text() };
  } catch (err) {
    const name = (err as Error).name;
    if (name === 'TimeoutError' || name === 'AbortError') throw new NoResponseError('timeout', 'timed out', true);
    // fetch says only "fetch failed"; the cause names the socket error. Its message holds host and port, no secret.
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const detail = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new NoResponseError('network', detail, !(cause?.code && NOT_SENT_CODES.has(cause.code)));
  }
}

/** Reads a JSON object; anything else (HTML, empty, an array) gives undefined. */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
