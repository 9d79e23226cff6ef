import { createHash } from 'node:crypto';
import { BotHookRequest } from './pyrus.types';

/** Deeper JSON than any real task (a table inside a title inside a form is about 10) is refused, not stored. */
export const MAX_PAYLOAD_DEPTH = 100;

/** Why a verified payload can never be stored or decided; the webhook answers 400, the inbox sweep records it. */
export class UnstorablePayloadError extends Error {
  constructor(
    readonly code: 'PAYLOAD_TOO_DEEP',
    message: string,
  ) {
    super(message);
  }
}

export interface StorablePayload {
  payload: BotHookRequest;
  /** Characters PostgreSQL cannot hold (NUL, lone surrogates) replaced by U+FFFD; 0 for almost every delivery. */
  replacedChars: number;
  /** SHA-256 of the body as received, kept when something was replaced so an auditor can tell. */
  rawSha256?: string;
}

/**
 * A JSON text that may hold `\u0000` or a surrogate escape; anything else decodes to text PostgreSQL accepts. Valid
 * surrogate pairs match too, and only cost the walk that finds nothing to replace.
 */
const SUSPECT_ESCAPE = /\\u(?:0000|[dD][89a-fA-F])/;

/**
 * The payload as PostgreSQL's jsonb can hold it: nesting within MAX_PAYLOAD_DEPTH (deeper JSON overflows the
 * serializer's stack), and no NUL or lone surrogate in any string or key. `rawText`, the body as received, lets the
 * common case skip the replacing walk; without it (a task read from the API) the walk always runs.
 */
export function toStorablePayload(payload: BotHookRequest, raw?: { text: string; bytes: Buffer }): StorablePayload {
  checkDepth(payload);
  if (raw && !SUSPECT_ESCAPE.test(raw.text)) return { payload, replacedChars: 0 };
  const counter = { replaced: 0 };
  const cleaned = replaceUnstorable(payload, counter) as BotHookRequest;
  if (counter.replaced === 0) return { payload, replacedChars: 0 };
  const rawSha256 = createHash('sha256')
    .update(raw ? raw.bytes : JSON.stringify(payload))
    .digest('hex');
  return { payload: cleaned, replacedChars: counter.replaced, rawSha256 };
}

/** Iterative, so a hostile depth cannot overflow this check's own stack. */
function checkDepth(root: unknown): void {
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (depth > MAX_PAYLOAD_DEPTH) {
      throw new UnstorablePayloadError('PAYLOAD_TOO_DEEP', `The JSON is nested deeper than ${MAX_PAYLOAD_DEPTH} levels; no Pyrus task is`);
    }
    if (value === null || typeof value !== 'object') continue;
    for (const key in value) {
      const child = (value as Record<string, unknown>)[key];
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
}

const REPLACEMENT = '\uFFFD';
/** NUL, and a high surrogate not followed by a low one or a low one not preceded by a high one. */
// eslint-disable-next-line no-control-regex
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function cleanString(s: string, counter: { replaced: number }): string {
  return s.replace(UNSTORABLE, () => {
    counter.replaced += 1;
    return REPLACEMENT;
  });
}

/** Copies only what changes; depth is already bounded, so recursion is safe here. */
function replaceUnstorable(value: unknown, counter: { replaced: number }): unknown {
  if (typeof value === 'string') return cleanString(value, counter);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, i) => {
      const cleaned = replaceUnstorable(item, counter);
      if (cleaned !== item) (copy ??= [...(value as unknown[])])[i] = cleaned;
    });
    return copy ?? value;
  }
  let copy: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value)) {
    const cleanKey = cleanString(key, counter);
    const cleaned = replaceUnstorable(item, counter);
    if (cleanKey !== key || cleaned !== item) {
      copy ??= { ...(value as Record<string, unknown>) };
      if (cleanKey !== key) delete copy[key];
      copy[cleanKey] = cleaned;
    }
  }
  return copy ?? value;
}
