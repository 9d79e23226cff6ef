import { DeliveryStatus } from '@app/database';
import { botVoteOnCurrentStep, lastCommentId, PyrusComment, PyrusTask, taskAwayFromBot } from '@app/pyrus';

/** The newest stored delivery of one task for one bot, and how its decision ended. */
export interface LatestDelivery {
  status: DeliveryStatus;
  receivedAt: Date;
  /** When the worker finished with it (processed_tasks.finished_at), if it did. */
  finishedAt: Date | null;
  /** The decision that reached Pyrus carried a vote (approval_choice). */
  postedVote: boolean;
  /**
   * Its decision was answered in the webhook's answer long enough ago (INLINE_ANSWER_GRACE_MS) that Pyrus's retries
   * are over, and no sweep has seen its comment on the task yet.
   */
  inlineToCheck: boolean;
}

/**
 * Decides from the inbox entry alone (no comments, so no read spent) whether the task may hold something the bot
 * has not decided: no delivery at all, or a change after the last decision. A delivery still waiting in the
 * queue is left to the worker.
 */
export function needsFullRead(task: PyrusTask, latest: LatestDelivery | undefined, botUserId: number | undefined): boolean {
  const vote = botVoteOnCurrentStep(task, botUserId);
  if (vote !== undefined && vote !== 'waiting') return false;
  if (!latest) return true;
  if (latest.status === DeliveryStatus.Received) return false;
  // Pyrus applies an inline answer as it takes it, which may look older than the decision's end: read the task once.
  if (latest.inlineToCheck) return true;
  // The bot voted, yet the task waits on it again: its own vote moved the task to a later step of the bot. That
  // change is the bot's comment, older than the decision's end, so the time test below would miss it.
  if (latest.postedVote && latest.status === DeliveryStatus.Processed) return true;
  const modified = Date.parse(task.last_modified_date ?? '');
  if (Number.isNaN(modified)) return true;
  // The end of the decision, not only the receipt: the bot's own comment must not count as news.
  const decidedAt = Math.max(latest.receivedAt.getTime(), latest.finishedAt?.getTime() ?? 0);
  return modified > decidedAt;
}

export interface StoredFacts {
  /** Comment ids that stored deliveries of this task were keyed on (`<event>:c<id>`), whatever the event. */
  deliveredCommentIds: Set<number>;
  /** Comments the bot posted on this task (processed_tasks.pyrus_comment_id). */
  postedCommentIds: Set<number>;
}

/**
 * After reading the full task: why it needs no new delivery, or undefined when the bot has something to decide.
 * Mirrors the worker (a vote that is no longer "waiting" is skipped there too), so no row is stored only to be
 * skipped.
 */
export function reasonToLeave(task: PyrusTask, botUserId: number | undefined, stored: StoredFacts): string | undefined {
  const vote = botVoteOnCurrentStep(task, botUserId);
  if (vote !== undefined && vote !== 'waiting') return `the bot's vote on the current step is already "${vote}"`;
  const away = taskAwayFromBot(task, botUserId);
  if (away) return away;
  const lastId = lastCommentId(task);
  if (lastId === undefined) return undefined;
  if (stored.deliveredCommentIds.has(lastId)) return 'a delivery for its newest comment is stored';
  const last = task.comments?.find((c) => c.id === lastId) as PyrusComment;
  const ownComment = stored.postedCommentIds.has(lastId) || (botUserId !== undefined && last.author?.id === botUserId);
  // A comment without a vote (a question, "fields missing") leaves the task with the bot; deciding again on the
  // same data would only repeat it. Someone else's comment or a field change is what calls for a new decision.
  if (ownComment && !last.approval_choice) return "its newest comment is the bot's own, without a vote";
  // The bot's own vote is news only when it moved the task to a later step that waits on the bot again. A bot that
  // approves no step of the task (a participant that votes) has nothing left once its vote is the newest comment.
  if (ownComment && vote !== 'waiting') return "its newest comment is the bot's own vote, and the current step does not wait on the bot";
  return undefined;
}

/** The comment id in a dedupe key `<event>:c<id>`; undefined for the hashed form. */
export function commentIdOfKey(dedupeKey: string): number | undefined {
  const match = /:c(\d+)$/.exec(dedupeKey);
  return match ? Number(match[1]) : undefined;
}
