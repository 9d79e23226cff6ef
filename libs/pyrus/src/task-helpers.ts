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
