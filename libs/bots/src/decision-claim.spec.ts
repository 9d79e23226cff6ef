import { PyrusTask } from '@app/pyrus';
import { claimOf, claimTaken, decisionClaims } from './decision-claim';

const BOT = 77;
const MANAGER = 5;

function task(overrides: Partial<PyrusTask> = {}): PyrusTask {
  return {
    id: 1,
    current_step: 2,
    approvals: [[{ person: { id: MANAGER }, approval_choice: 'approved' }], [{ person: { id: BOT }, approval_choice: 'waiting' }]],
    comments: [
      { id: 10, text: 'created' },
      { id: 11, approval_choice: 'approved', changed_step: 2 },
      { id: 12, text: 'a question' },
    ],
    ...overrides,
  };
}

describe('decisionClaims', () => {
  it('claims the step and the comment that brought the task there, and the newest comment as the event', () => {
    expect(decisionClaims(task(), BOT, 'comment')).toEqual({ vote: 'step:2:round:11', event: 'event:comment:c12' });
  });

  it('a request sent back and returned is a new round', () => {
    const returned = task({
      comments: [
        ...task().comments!,
        { id: 20, changed_step: 1, reset_to_step: 1 },
        { id: 21, approval_choice: 'approved', changed_step: 2 },
      ],
    });
    expect(decisionClaims(returned, BOT, 'comment').vote).toBe('step:2:round:21');
  });

  it('round 0 when the task started on the step; "none" when it has no comments', () => {
    expect(decisionClaims(task({ current_step: 2, comments: [] }), BOT, 'comment')).toEqual({
      vote: 'step:2:round:0',
      event: 'event:comment:none',
    });
  });

  it('no vote claim for a bot that is not an approver of the step, and closed once its vote is cast', () => {
    expect(decisionClaims(task(), 999, 'comment')).toEqual({ event: 'event:comment:c12' });
    const voted = task({ approvals: [[], [{ person: { id: BOT }, approval_choice: 'approved' }]] });
    expect(decisionClaims(voted, BOT, 'comment').closed).toMatch(/already "approved"/);
  });
});

describe('claimOf and claimTaken', () => {
  const claims = decisionClaims(task(), BOT, 'comment');

  it('a vote or a request sent back claims the round; a comment that leaves the task with the bot, the event', () => {
    expect(claimOf({ approval_choice: 'approved' }, claims)).toBe('step:2:round:11');
    expect(claimOf({ text: 'back', approvals_rerequested: [[{ id: MANAGER }]] }, claims)).toBe('step:2:round:11');
    expect(claimOf({ text: 'fields missing' }, claims)).toBe('event:comment:c12');
  });

  it('says why when another delivery holds either claim', () => {
    expect(claimTaken(claims, [])).toBeUndefined();
    expect(claimTaken(claims, ['step:2:round:11'])).toMatch(/already voted on this step in this round/);
    expect(claimTaken(claims, ['event:comment:c12'])).toMatch(/already answered/);
    expect(claimTaken(claims, ['step:2:round:3', 'event:comment:c9'])).toBeUndefined();
  });

  it("closed while the task is on a step of the route that is not the bot's (a comment after the bot's stage)", () => {
    const movedOn = task({ current_step: 3, approvals: [...task().approvals!, [{ person: { id: MANAGER }, approval_choice: 'waiting' }]] });
    expect(decisionClaims(movedOn, BOT, 'comment').closed).toBe('the task is on step 3, and the bot approves step 2');
  });
});
