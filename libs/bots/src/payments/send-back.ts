import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Min, ValidateNested } from 'class-validator';
import { PersonRef, PyrusPerson, PyrusTask, TaskCommentRequest } from '@app/pyrus';
import { BotDecision } from '../bot-handler';
import { Requires } from '../settings-validation';
import { InvoiceSettings } from './invoice';
import { PaymentDraft } from './payment-record';

export class CheckTexts {
  @IsOptional()
  @IsString()
  approved?: string;

  @IsOptional()
  @IsString()
  returned?: string;

  @IsOptional()
  @IsString()
  missingFields?: string;
}

/** A bot that checks a payment request and, when the check fails, sends it back (duplicate-check, budget-check). */
export class CheckSettings extends InvoiceSettings {
  /**
   * How a request that fails the check goes back. `previous-step`, the default, asks the persons of the nearest earlier
   * step with a person on it to approve again (`approvals_rerequested`, protocol section 3.1); on the first step, where
   * there is none, the bot rejects. `step` asks the persons of step `returnToStep`. `reject` votes "rejected".
   * `rerequest-previous-step` means `previous-step`.
   */
  @IsOptional()
  @IsIn(['previous-step', 'step', 'reject', 'rerequest-previous-step'], {
    message: '"previous-step" (the default), "step" or "reject" is expected',
  })
  @Requires<CheckSettings>((s) => s.returnTo !== 'step' || s.returnToStep !== undefined, {
    message: 'returnToStep is required with returnTo "step"',
  })
  returnTo?: 'previous-step' | 'step' | 'reject' | 'rerequest-previous-step';

  /** With `returnTo: "step"`: the step number (1 is the first) whose persons get the request back. */
  @IsOptional()
  @IsInt({ message: 'a step number (a whole number from 1) is expected' })
  @Min(1, { message: 'a step number (a whole number from 1) is expected' })
  returnToStep?: number;

  @IsOptional()
  @ValidateNested()
  @Type(() => CheckTexts)
  texts?: CheckTexts;
}

const MISSING_FIELDS = 'Cannot check this payment request: {fields} missing. Fill them in and send the task again.';

/** The comment (no vote) when required fields are empty: the task stays with the bot until someone fills them in. */
export function missingFieldsDecision(texts: { missingFields?: string } | undefined, missing: string[]): BotDecision<PaymentDraft> {
  const text = (texts?.missingFields ?? MISSING_FIELDS).replace('{fields}', missing.join(', '));
  return { kind: 'comment', comment: { text }, reason: `missing fields: ${missing.join(', ')}` };
}

/**
 * Sends the request back with the reason as the comment and records it rejected: to the persons of an earlier step
 * (the nearest one with a person by default, as Pyrus describes its budget bot: it "reports this and returns the
 * request to the previous stage"; or the step named in the settings), or rejected (`returnTo: "reject"`). A step of
 * bots only is never the target: a bot there would only decide the same again, and two bots would hand the request
 * back and forth. A named step that is not earlier than the current one, or has no person, gives way to the nearest
 * earlier person step. With no such step (the bot is on the first step) the request is rejected and the comment says why.
 */
export function sendBack(
  task: PyrusTask,
  settings: CheckSettings,
  check: { why: string; reason: string; draft: PaymentDraft; botUserId?: number },
): BotDecision<PaymentDraft> {
  const returned = settings.texts?.returned ? `\n${settings.texts.returned}` : '';
  const record: PaymentDraft = { ...check.draft, status: 'rejected' };
  if (settings.returnTo === 'reject') {
    const comment: TaskCommentRequest = { text: `${check.why}${returned}`, approval_choice: 'rejected' };
    return { kind: 'comment', comment, reason: check.reason, record };
  }
  const named = settings.returnTo === 'step' ? personStep(task, settings.returnToStep, check.botUserId) : undefined;
  return returnTo(named ?? previousPersonStep(task, check.botUserId), { why: check.why, reason: check.reason, record, returned });
}

/**
 * The decision that asks the persons of `target` to approve again (`approvals_rerequested`), the comment giving the
 * reason and where the request went; with no target (the bot is on the first stage) it rejects and says why.
 * `walkAgain` also asks every approver of the steps after the target and before the bot's own (the bots' among them)
 * again, so the request passes each of those stages anew, whether or not Pyrus would skip a step already approved.
 */
export function returnTo<R>(
  target: { step: number; people: PyrusPerson[] } | undefined,
  back: { why: string; reason: string; record: R; returned?: string; walkAgain?: { task: PyrusTask; botUserId?: number } },
): BotDecision<R> {
  const { why, reason, record, returned = '', walkAgain } = back;
  if (!target) {
    const text = `${why}\nRejected: there is no earlier stage to return this request to.${returned}`;
    return { kind: 'comment', comment: { text, approval_choice: 'rejected' }, reason: `${reason}; no earlier stage, rejected`, record };
  }
  const through = walkAgain ? (walkAgain.task.current_step ?? 1) - 1 : target.step;
  const rerequested: PersonRef[][] = Array.from({ length: through }, () => []);
  rerequested[target.step - 1] = target.people.map((p) => ({ id: p.id }));
  for (let step = target.step + 1; step <= through; step += 1) {
    const approvers = (walkAgain!.task.approvals?.[step - 1] ?? []).map((a) => a.person).filter((p) => p && p.id !== walkAgain!.botUserId);
    rerequested[step - 1] = approvers.map((p) => ({ id: p.id }));
  }
  const text = `${why}\nReturned to step ${target.step} (${target.people.map(personName).join(', ')}).${returned}`;
  return {
    kind: 'comment',
    comment: { text, approvals_rerequested: rerequested },
    reason: `${reason}; returned to step ${target.step}`,
    record,
  };
}

/**
 * The persons who come before the nearest earlier bot stage: where a request must go to pass that bot's check again
 * (the head of department before the budget check, for the payment order bot). Without a bot stage before this one,
 * the nearest earlier person step.
 */
export function personStepBeforeBotStage(task: PyrusTask, botUserId?: number): { step: number; people: PyrusPerson[] } | undefined {
  for (let step = (task.current_step ?? 1) - 1; step >= 1; step -= 1) {
    const approvers = task.approvals?.[step - 1] ?? [];
    const botStage = approvers.some((a) => a.person?.type === 'bot' && a.person.id !== botUserId);
    if (botStage) return previousPersonStep({ ...task, current_step: step }, botUserId);
  }
  return previousPersonStep(task, botUserId);
}

/** The nearest step before the current one with a person (not a bot, not this bot) on it, and those persons. */
export function previousPersonStep(task: PyrusTask, botUserId?: number): { step: number; people: PyrusPerson[] } | undefined {
  for (let step = (task.current_step ?? 1) - 1; step >= 1; step -= 1) {
    const found = personStep(task, step, botUserId);
    if (found) return found;
  }
  return undefined;
}

/** Step `step` and its persons, when it is earlier than the current step and has one. */
function personStep(task: PyrusTask, step: number | undefined, botUserId?: number): { step: number; people: PyrusPerson[] } | undefined {
  if (step === undefined || step < 1 || step >= (task.current_step ?? 1)) return undefined;
  const people = (task.approvals?.[step - 1] ?? []).map((a) => a.person).filter((p) => p && p.type !== 'bot' && p.id !== botUserId);
  return people.length ? { step, people } : undefined;
}

function personName(person: PyrusPerson): string {
  const name = [person.first_name, person.last_name].filter(Boolean).join(' ');
  return name || `user ${person.id}`;
}
