import type { DeliveryAttempt, DeliveryRecord, ReceivedComment } from '../../apps/pyrus-emulator/src';
import { renderReport, RowPlan, tallyRow } from './chaos-report';

const T0 = Date.parse('2026-05-01T10:00:00.000Z');

function delivery(taskId: number, statuses: Array<number | undefined>): DeliveryRecord {
  const attempts: DeliveryAttempt[] = statuses.map((status, i) => ({
    attempt: i + 1,
    retryHeader: `${i + 1}/3`,
    offsetMs: i * 6100,
    durationMs: 5,
    status,
    error: status === undefined ? 'ECONNRESET' : undefined,
    ok: status !== undefined && status >= 200 && status < 300,
  }));
  return {
    id: taskId,
    bot: 'auto-reply',
    taskId,
    event: 'comment',
    url: 'http://x',
    body: '{}',
    signature: 's',
    startedAt: '',
    attempts,
    outcome: 'delivered',
  };
}

function comment(taskId: number, atMs: number, extra: Partial<ReceivedComment> = {}): ReceivedComment {
  return {
    taskId,
    bot: 'auto-reply',
    at: new Date(T0 + atMs).toISOString(),
    request: { approval_choice: 'approved' },
    comment: {},
    ...extra,
  };
}

function plan(taskIds: number[], hostile: Record<number, string> = {}): RowPlan {
  return {
    fault: 'redis',
    tasks: new Map(taskIds.map((id) => [id, { bot: 'auto-reply', hostile: hostile[id] }])),
    faultEndedAt: T0 + 1000,
    notes: [],
  };
}

describe('a chaos row, counted from what the emulator saw', () => {
  it("counts acknowledged, decided once, lost, doubled and 5xx per task, and only this row's tasks", () => {
    const deliveries = [
      delivery(1, [503, 200]), // acknowledged on the retry, decided once
      delivery(2, [200]), // acknowledged, never decided: lost
      delivery(3, [200]), // decided twice: doubled
      delivery(4, [500, 502, undefined]), // Pyrus gave up, and it was decided all the same
      delivery(99, [500]), // another row's task
    ];
    const comments = [comment(1, 3000), comment(3, 2000), comment(3, 9000), comment(4, 4000), comment(99, 0), comment(99, 1)];

    const row = tallyRow(plan([1, 2, 3, 4]), deliveries, comments);

    expect(row).toMatchObject({
      sent: 4,
      acknowledged: 3,
      decidedOnce: 2,
      lost: 1,
      doubled: 1,
      fiveHundreds: 3,
      unacknowledged: 1,
      unacknowledgedDecided: 1,
    });
    expect(row.recoverMs).toBeNull();
  });

  it("takes an acknowledgement text answered in the webhook, or another bot's comment, for no decision", () => {
    const ackText = { viaWebhookAnswer: true, request: { text: 'Received, working on it' } };
    const comments = [comment(1, 500, ackText), comment(1, 600, { bot: 'payments' })];
    expect(tallyRow(plan([1]), [delivery(1, [200])], comments)).toMatchObject({ decidedOnce: 0, lost: 1 });
  });

  it('counts a decision answered in the webhook (reply auto), and one answered and posted as doubled', () => {
    const inline = { viaWebhookAnswer: true, request: { text: 'Approved', approval_choice: 'approved' } };
    expect(tallyRow(plan([1]), [delivery(1, [200])], [comment(1, 500, inline)])).toMatchObject({ decidedOnce: 1, lost: 0 });
    expect(tallyRow(plan([1]), [delivery(1, [200])], [comment(1, 500, inline), comment(1, 900)])).toMatchObject({ doubled: 1 });
  });

  it('times the recovery from the end of the fault to the first decision of the last acknowledged task', () => {
    const deliveries = [delivery(1, [200]), delivery(2, [200]), delivery(3, [500, 500, 500])];
    // Task 2's second decision and task 3 (never acknowledged) do not move the time.
    const comments = [comment(1, 200), comment(2, 5500), comment(2, 30_000), comment(3, 40_000)];
    expect(tallyRow(plan([1, 2, 3]), deliveries, comments).recoverMs).toBe(4500);
    expect(tallyRow(plan([1]), [delivery(1, [200])], [comment(1, 200)]).recoverMs).toBe(0);
  });

  it('prints one Markdown row per fault and the statuses each hostile payload got', () => {
    const p = plan([1, 2], { 2: 'lone surrogate' });
    const row = tallyRow(p, [delivery(1, [200]), delivery(2, [503, 503, 503])], [comment(1, 100)]);
    const text = renderReport([row], [p], { settings: 'settings', recoveryBoundMs: 60_000 });
    expect(text).toContain('| fault | sent | acknowledged | decided once | lost | doubled | 5xx | time to recover |');
    expect(text).toContain('| redis | 2 | 1 | 1 | 0 | 0 | 3 | 0.0 s |');
    expect(text).toContain('lone surrogate (task 2): answered 503, 503, 503; 0 decisions');
  });
});
