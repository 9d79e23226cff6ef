import { DeliveryStatus } from '@app/database';
import { PyrusTask } from '@app/pyrus';
import { commentIdOfKey, LatestDelivery, needsFullRead, reasonToLeave, StoredFacts } from './inbox-candidates';

const BOT = 123456;
const task = (over: Partial<PyrusTask> = {}, vote: string = 'waiting'): PyrusTask => ({
  id: 840001,
  current_step: 1,
  last_modified_date: '2026-11-23T10:00:00Z',
  approvals: [[{ person: { id: BOT }, approval_choice: vote as never }]],
  ...over,
});
const latest = (over: Partial<LatestDelivery> = {}): LatestDelivery => ({
  status: DeliveryStatus.Processed,
  receivedAt: new Date('2026-11-23T09:59:00Z'),
  finishedAt: new Date('2026-11-23T09:59:01Z'),
  postedVote: false,
  inlineToCheck: false,
  ...over,
});
const facts = (delivered: number[] = [], posted: number[] = []): StoredFacts => ({
  deliveredCommentIds: new Set(delivered),
  postedCommentIds: new Set(posted),
});

describe('needsFullRead (the inbox entry, before spending a read)', () => {
  it('reads a task no delivery was ever stored for', () => {
    expect(needsFullRead(task(), undefined, BOT)).toBe(true);
  });

  it('leaves a task whose delivery still waits for the worker', () => {
    expect(needsFullRead(task(), latest({ status: DeliveryStatus.Received }), BOT)).toBe(false);
  });

  it('reads once a task whose decision was answered inline, past the grace, though nothing changed since', () => {
    const later = latest({ receivedAt: new Date('2026-11-23T10:00:00.500Z'), finishedAt: new Date('2026-11-23T10:00:01Z') });
    expect(needsFullRead(task(), later, BOT)).toBe(false);
    expect(needsFullRead(task(), { ...later, inlineToCheck: true }, BOT)).toBe(true);
    // Its vote applied: nothing to check.
    expect(needsFullRead(task({}, 'approved'), { ...later, inlineToCheck: true }, BOT)).toBe(false);
  });

  it('reads a task changed after the last decision ended, not one changed before', () => {
    expect(needsFullRead(task(), latest(), BOT)).toBe(true);
    const later = latest({ receivedAt: new Date('2026-11-23T10:00:00.500Z'), finishedAt: new Date('2026-11-23T10:00:01Z') });
    expect(needsFullRead(task(), later, BOT)).toBe(false);
  });

  it("does not take the bot's own comment, made while deciding, for news", () => {
    const decision = latest({ receivedAt: new Date('2026-11-23T09:59:59.900Z'), finishedAt: new Date('2026-11-23T10:00:00.300Z') });
    expect(needsFullRead(task(), decision, BOT)).toBe(false);
  });

  it('reads a task that waits on the bot again after its posted vote (the next step is the bot’s too)', () => {
    const decision = latest({
      postedVote: true,
      receivedAt: new Date('2026-11-23T10:00:00Z'),
      finishedAt: new Date('2026-11-23T10:00:01Z'),
    });
    expect(needsFullRead(task(), decision, BOT)).toBe(true);
  });

  it('leaves a task whose header shows the bot has already voted on the current step', () => {
    expect(needsFullRead(task({}, 'approved'), undefined, BOT)).toBe(false);
  });

  it('reads a task without last_modified_date, since it cannot tell', () => {
    expect(needsFullRead(task({ last_modified_date: undefined }), latest(), BOT)).toBe(true);
  });
});

describe('reasonToLeave (the full task)', () => {
  const withComments = (...comments: PyrusTask['comments'] & object) => task({ comments });

  it('queues a task waiting on the bot with a comment no delivery covers', () => {
    expect(reasonToLeave(withComments({ id: 1, author: { id: 7 } }, { id: 2, author: { id: 8 } }), BOT, facts([1]))).toBeUndefined();
  });

  it('leaves a task whose newest comment a stored delivery was keyed on, whatever its event', () => {
    expect(reasonToLeave(withComments({ id: 1 }, { id: 2 }), BOT, facts([2]))).toMatch(/newest comment is stored/);
  });

  it('leaves a task on which the bot has already voted', () => {
    expect(reasonToLeave(task({ comments: [{ id: 1 }] }, 'rejected'), BOT, facts())).toMatch(/already "rejected"/);
  });

  it("leaves a task whose newest comment is the bot's own without a vote, known by author or by the posted id", () => {
    expect(reasonToLeave(withComments({ id: 1 }, { id: 2, author: { id: BOT }, text: 'fields missing' }), BOT, facts([1]))).toMatch(
      /bot's own/,
    );
    expect(reasonToLeave(withComments({ id: 1 }, { id: 2, text: 'fields missing' }), undefined, facts([1], [2]))).toMatch(/bot's own/);
  });

  it("queues a task whose newest comment is the bot's own vote, yet which waits on the bot again", () => {
    expect(
      reasonToLeave(withComments({ id: 1 }, { id: 2, author: { id: BOT }, approval_choice: 'approved' }), BOT, facts([1], [2])),
    ).toBeUndefined();
  });

  it("leaves a task the bot's own vote moved on to a step the bot does not approve (listed just before the vote)", () => {
    const movedOn = withComments({ id: 1 }, { id: 2, author: { id: BOT }, approval_choice: 'approved', changed_step: 2 });
    movedOn.current_step = 2;
    movedOn.approvals = [[{ person: { id: BOT }, approval_choice: 'approved' }], [{ person: { id: 99 }, approval_choice: 'waiting' }]];
    expect(reasonToLeave(movedOn, BOT, facts([1]))).toBe('the task is on step 2, and the bot approves step 1');
  });

  it("leaves a task whose newest comment is the bot's own vote when the bot approves no step of it", () => {
    const notOnRoute = withComments({ id: 1 }, { id: 2, author: { id: BOT }, approval_choice: 'approved' });
    notOnRoute.approvals = [[{ person: { id: 99 }, approval_choice: 'waiting' }]];
    expect(reasonToLeave(notOnRoute, BOT, facts([1]))).toMatch(/does not wait on the bot/);
  });

  it('queues a task without comments (nothing to compare)', () => {
    expect(reasonToLeave(task(), BOT, facts())).toBeUndefined();
  });
});

describe('commentIdOfKey', () => {
  it('reads the comment id of a key, and nothing from a hashed key', () => {
    expect(commentIdOfKey('comment:c42')).toBe(42);
    expect(commentIdOfKey('close:c7')).toBe(7);
    expect(commentIdOfKey('comment:sha256:abc')).toBeUndefined();
  });
});
