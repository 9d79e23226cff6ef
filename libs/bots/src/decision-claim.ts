import { botVoteOnCurrentStep, lastCommentId, PyrusTask, taskAwayFromBot, TaskCommentRequest } from '@app/pyrus';

/**
 * What a decision on one version of a task claims, so that no two deliveries (a webhook and its retry under another
 * key, the inbox sweep, a replay, a second worker) act twice on it. A vote is cast once per step and round: the round
 * is the comment that brought the task to the step, so a request sent back and returned is a new round. A comment
 * that leaves the task with the bot answers one event (the task's newest comment), and a later one may call for another.
 */
export interface DecisionClaims {
  /** `step:<n>:round:<comment id>`, when the bot is an approver of the current step. */
  vote?: string;
  /** `event:<name>:c<newest comment id>` (`:none` when the task has no comments). */
  event: string;
  /** Why the bot may not act at all: its vote on the current step is no longer "waiting", or the task is on another bot's or person's step of the route. */
  closed?: string;
}

/** SQL: the claims other deliveries of the task of delivery `d` hold (posting or posted decisions), as a text[]. */
export const HELD_CLAIMS_OF_D = `ARRAY(SELECT o.claim_key FROM processed_tasks o
  WHERE o.bot = d.bot AND o.task_id = d.task_id AND o.delivery_id <> d.id AND o.claim_key IS NOT NULL AND o.outcome IN ('posting', 'posted'))`;

export function decisionClaims(task: PyrusTask, botUserId: number | undefined, event: string): DecisionClaims {
  const newest = lastCommentId(task);
  const claims: DecisionClaims = { event: `event:${event}:${newest === undefined ? 'none' : `c${newest}`}` };
  const vote = botVoteOnCurrentStep(task, botUserId);
  const away = taskAwayFromBot(task, botUserId);
  if (away) return { ...claims, closed: away };
  if (vote === undefined) return claims;
  if (vote !== 'waiting') return { ...claims, closed: `the bot's vote on the current step is already "${vote}"` };
  const step = task.current_step ?? 1;
  return { ...claims, vote: `step:${step}:round:${roundOf(task, step)}` };
}

/**
 * The claim a decision takes: the step's and round's when it moves the task on the step the bot approves (a vote, or
 * the request sent back to earlier approvers), else the event's. A comment that leaves the task waiting on the bot (a
 * question, fields missing) answers only its event, and a later comment may call for another decision.
 */
export function claimOf(comment: TaskCommentRequest, claims: DecisionClaims): string {
  const movesTheTask = comment.approval_choice !== undefined || comment.approvals_rerequested !== undefined;
  return movesTheTask && claims.vote ? claims.vote : claims.event;
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
