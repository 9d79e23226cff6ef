import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { botVoteOnCurrentStep } from './task-helpers';

const event = () => JSON.parse(readFileSync(resolve(__dirname, '../../../test/fixtures/pyrus/event.json'), 'utf8'));

describe('botVoteOnCurrentStep', () => {
  it('finds the bot waiting on the current step of the fixture task', () => {
    const { task, user_id } = event();
    expect(botVoteOnCurrentStep(task, user_id)).toBe('waiting');
  });

  it('reads the current step, not the first', () => {
    const { task, user_id } = event();
    task.approvals[task.current_step - 1][0].approval_choice = 'approved';
    expect(botVoteOnCurrentStep(task, user_id)).toBe('approved');
  });

  it('is undefined for a bot that is not an approver, or a simple task', () => {
    const { task } = event();
    expect(botVoteOnCurrentStep(task, 42)).toBeUndefined();
    expect(botVoteOnCurrentStep({ id: 1 }, 42)).toBeUndefined();
  });
});
