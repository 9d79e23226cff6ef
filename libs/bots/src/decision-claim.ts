import { botVoteOnCurrentStep, lastCommentId, PyrusTask, TaskCommentRequest } from '@app/pyrus';

/**
 * What a decision on one version of a task claims, so that no two deliveries (a webhook and its retry under another
 * key, the inbox sweep, a replay, a second worker) act twice on it. A vote is cast once per step and round: the round
 * is the comment that brought the task to the step, so a request sent back and returned is a new round. A comment
 * without a vote answers one event (the task's newest comment), and a later comment may call for another.
 */
export interface DecisionClaims {
  /** `step:<n>:round:<comment id>`, when the bot is an approver of the current step. */
  vote?: string;
  /** `event:<name>:c<newest comment id>` (`:none` when the task has no comments). */
  event: string;
  /** Why the bot may not act at all: its vote on the current step is no longer "waiting". */
  closed?: string;
}

export function decisionClaims(task: PyrusTask, botUserId: number | undefined, event: string): DecisionClaims {
  const newest = lastCommentId(task);
  const claims: DecisionClaims = { event: `event:${event}:${newest === undefined ? 'none' : `c${newest}`}` };
  const vote = botVoteOnCurrentStep(task, botUserId);
  if (vote === undefined) return claims;
  if (vote !== 'waiting') return { ...claims, closed: `the bot's vote on the current step is already "${vote}"` };
  const step = task.current_step ?? 1;
  return { ...claims, vote: `step:${step}:round:${roundOf(task, step)}` };
}

/** The claim a decision takes: its vote's when it votes on a step the bot approves, else the event's. */
export function claimOf(comment: TaskCommentRequest, claims: DecisionClaims): string {
  return comment.approval_choice && claims.vote ? claims.vote : claims.event;
}

/** Why a decision is not needed, given the claims other deliveries of the task already hold. */
export function claimTaken(claims: DecisionClaims, held: Iterable<string>): string | undefined {
  if (claims.closed) return claims.closed;
  const taken = new Set(held);
  if (claims.vote && taken.has(claims.vote)) return `the bot already voted on this step in this round (${claims.vote})`;
  if (taken.has(claims.event)) return `this event was already answered (${claims.event})`;
  return undefined;
}

/** The newest comment that moved the task onto `step` (Pyrus marks it `changed_step`); 0 when it started there. */
function roundOf(task: PyrusTask, step: number): number {
  const comments = Array.isArray(task.comments) ? task.comments : [];
  return comments.reduce((round, c) => (c?.changed_step === step && Number.isSafeInteger(c.id) && c.id > round ? c.id : round), 0);
}
