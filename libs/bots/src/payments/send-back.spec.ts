import { PyrusPerson, PyrusTask } from '@app/pyrus';
import { CheckSettings, sendBack } from './send-back';
import { PaymentDraft } from './payment-record';

const person = (id: number, first_name: string): PyrusPerson => ({ id, first_name, type: 'user' });
const bot = (id: number): PyrusPerson => ({ id, first_name: `bot ${id}`, type: 'bot' });
const ACCOUNTANT = person(1, 'Accountant');
const HEAD = person(3, 'Head');
const DUPLICATE_BOT = bot(2);
const BUDGET_BOT = bot(4);

/** The route, on the budget bot's step 4: accountant, duplicate bot, head, budget bot, CFO. */
const task = (current_step = 4): PyrusTask => ({
  id: 1,
  current_step,
  approvals: [ACCOUNTANT, DUPLICATE_BOT, HEAD, BUDGET_BOT, person(5, 'CFO')].map((p) => [{ person: p, approval_choice: 'waiting' }]),
});
const settings = (over: Partial<CheckSettings>): CheckSettings => Object.assign(new CheckSettings(), over);
const draft: PaymentDraft = { supplierKey: 'tax:1', amount: '10.00', currency: 'RUB', status: 'approved' };
const check = { why: 'Budget exceeded.', reason: 'budget exceeded', draft, botUserId: BUDGET_BOT.id };

const rerequestedOf = (decision: ReturnType<typeof sendBack>) =>
  decision.kind === 'comment' ? decision.comment.approvals_rerequested?.map((step) => step.map((p) => p.id)) : undefined;

describe('sendBack', () => {
  it('returns to the nearest earlier step with a person, passing over a bot step, and records the request rejected', () => {
    const decision = sendBack(task(), settings({}), check);
    expect(rerequestedOf(decision)).toEqual([[], [], [HEAD.id]]);
    expect(decision).toMatchObject({
      comment: { text: expect.stringContaining('Returned to step 3 (Head)') },
      record: { status: 'rejected' },
    });
  });

  it('from the step right after a bot-only step, reaches the person step before it', () => {
    // On step 3 the deciding bot (here standing in for the head) looks back: step 2 holds only the duplicate bot.
    expect(rerequestedOf(sendBack(task(3), settings({}), { ...check, botUserId: HEAD.id }))).toEqual([[ACCOUNTANT.id]]);
  });

  it('returns to the named step with returnTo "step"', () => {
    expect(rerequestedOf(sendBack(task(), settings({ returnTo: 'step', returnToStep: 1 }), check))).toEqual([[ACCOUNTANT.id]]);
  });

  it('passes over a named step that is a bot step or not earlier, to the nearest earlier person step', () => {
    expect(rerequestedOf(sendBack(task(), settings({ returnTo: 'step', returnToStep: 2 }), check))).toEqual([[], [], [HEAD.id]]);
    expect(rerequestedOf(sendBack(task(), settings({ returnTo: 'step', returnToStep: 5 }), check))).toEqual([[], [], [HEAD.id]]);
  });

  it('rejects with returnTo "reject", and on the first step where there is no earlier one', () => {
    expect(sendBack(task(), settings({ returnTo: 'reject' }), check)).toMatchObject({ comment: { approval_choice: 'rejected' } });
    expect(sendBack(task(1), settings({}), check)).toMatchObject({
      comment: { approval_choice: 'rejected', text: expect.stringContaining('no earlier stage') },
    });
  });
});
