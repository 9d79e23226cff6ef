import { ApprovalChoice, PyrusTask } from './pyrus.types';

/**
 * The bot's own vote on the task's current step: 'waiting' while Pyrus waits for the bot, undefined when the bot
 * is not an approver of that step (a simple task, or a bot that is only a participant).
 */
export function botVoteOnCurrentStep(task: PyrusTask, botUserId: number | undefined): ApprovalChoice | undefined {
  if (botUserId === undefined || !Array.isArray(task.approvals)) return undefined;
  const step = task.current_step ?? 1;
  const approvers = task.approvals[step - 1];
  if (!Array.isArray(approvers)) return undefined;
  return approvers.find((a) => a?.person?.id === botUserId)?.approval_choice;
}

/**
 * Why the bot has nothing to do on the task now, when it approves other steps of the route but not the current one (a
 * comment on a task that moved on from the bot's stage, or a task not yet there); undefined otherwise. A bot that is
 * no approver anywhere (only a participant) is not concerned: it may answer any comment.
 */
export function taskAwayFromBot(task: PyrusTask, botUserId: number | undefined): string | undefined {
  if (botUserId === undefined || !Array.isArray(task.approvals)) return undefined;
  const step = task.current_step ?? 1;
  const botSteps = task.approvals.flatMap((approvers, i) =>
    Array.isArray(approvers) && approvers.some((a) => a?.person?.id === botUserId) ? [i + 1] : [],
  );
  if (botSteps.length === 0 || botSteps.includes(step)) return undefined;
  return `the task is on step ${step}, and the bot approves step ${botSteps.join(', ')}`;
}
