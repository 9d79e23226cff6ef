import { createHash } from 'node:crypto';
import { BotHookRequest, PyrusTask } from './pyrus.types';
import { redactWebhookBody } from './redact';

export class InvalidPayloadError extends Error {}

/** Parses and checks a webhook body; the message of an InvalidPayloadError says what is wrong. */
export function parseBotHookRequest(raw: Buffer | string): BotHookRequest {
  if (raw.length === 0) throw new InvalidPayloadError('Body is empty; expected a JSON object');
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch (err) {
    throw new InvalidPayloadError(`Body is not valid JSON: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidPayloadError('Body must be a JSON object');
  }
  const body = parsed as Record<string, unknown>;
  if (!Number.isSafeInteger(body.task_id) || (body.task_id as number) <= 0) {
    throw new InvalidPayloadError('"task_id" must be a positive integer');
  }
  if (!body.task || typeof body.task !== 'object' || Array.isArray(body.task)) {
    throw new InvalidPayloadError('"task" must be an object');
  }
  if (body.event !== undefined && typeof body.event !== 'string') {
    throw new InvalidPayloadError('"event" must be a string');
  }
  return body as BotHookRequest;
}

/**
 * The part of the natural key (bot + task id + this) that tells one event from another: the event and the
 * task's last comment id, or a hash of the redacted body when the task has no comments. Pyrus's retries of one
 * event share it; a new comment makes a new one.
 */
export function deliveryDedupeKey(payload: BotHookRequest): string {
  const event = payload.event ?? 'comment';
  const lastId = lastCommentId(payload.task);
  if (lastId !== undefined) return `${event}:c${lastId}`;
  const digest = createHash('sha256')
    .update(JSON.stringify(redactWebhookBody(payload)))
    .digest('hex');
  return `${event}:sha256:${digest}`;
}

/** The id of the task's newest comment (the largest id), if it has any. */
export function lastCommentId(task: PyrusTask): number | undefined {
  const comments = Array.isArray(task.comments) ? task.comments : [];
  return comments.reduce<number | undefined>(
    (max, c) => (Number.isSafeInteger(c?.id) && (max === undefined || c.id > max) ? c.id : max),
    undefined,
  );
}
