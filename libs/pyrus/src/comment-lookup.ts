import { CommentIntent } from './pyrus.client';
import { PyrusComment, PyrusTask, TaskCommentRequest } from './pyrus.types';

/** How far Pyrus's clock may lag ours when we look for a comment we may already have posted. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

/**
 * The comment a bot posted for `request`, if it is on the task: same author (when known) and text, created after
 * the intent was written. Pyrus has no idempotency keys, so this is how a lost answer is told from a lost request.
 */
export function findPostedComment(task: PyrusTask, request: TaskCommentRequest, intent: CommentIntent): PyrusComment | undefined {
  const after = intent.since.getTime() - CLOCK_SKEW_MS;
  return [...(task.comments ?? [])]
    .reverse()
    .find(
      (c) =>
        (intent.authorId === undefined || c.author?.id === intent.authorId) &&
        (c.text ?? '') === (request.text ?? '') &&
        (c.approval_choice ?? undefined) === (request.approval_choice ?? undefined) &&
        (!c.create_date || Date.parse(c.create_date) >= after),
    );
}
