import { cpus, totalmem } from 'node:os';
import type { DeliveryRecord, ReceivedComment } from '../../apps/pyrus-emulator/src';

/** One fault's traffic: which tasks it sent to which bot, and when its fault ended. */
export interface RowPlan {
  fault: string;
  tasks: Map<number, { bot: string; hostile?: string }>;
  /** Epoch ms; time to recover counts from here. */
  faultEndedAt: number;
  /** What the fault did, for the notes under the table (queued jobs at a flush, a process that died, ...). */
  notes: string[];
}

export interface RowFigures {
  fault: string;
  sent: number;
  acknowledged: number;
  decidedOnce: number;
  lost: number;
  doubled: number;
  fiveHundreds: number;
  /** Ms from the end of the fault to the first decision of the last acknowledged task; null when one never came. */
  recoverMs: number | null;
  /** Sent tasks no attempt got a 2xx for (Pyrus gave up on them). */
  unacknowledged: number;
  /** Of those, decided all the same (the inbox sweep found them, or an attempt was stored before it failed). */
  unacknowledgedDecided: number;
  /** Hostile payloads: the statuses each got, attempt by attempt. */
  hostile: Array<{ kind: string; taskId: number; statuses: string; decisions: number }>;
}

/**
 * A bot's comment that is a decision: posted through the API, or a webhook answer carrying more than a text (a vote, a
 * request sent back, field updates: the decision answered inline). A bare text in an answer is an ackText.
 */
export function isDecision(comment: ReceivedComment): boolean {
  return !comment.viaWebhookAnswer || Object.keys(comment.request).some((key) => key !== 'text');
}

/** Counts a row from what the emulator saw: its deliveries (the sender's side of every attempt) and the bots' decisions. */
export function tallyRow(plan: RowPlan, deliveries: DeliveryRecord[], comments: ReceivedComment[]): RowFigures {
  const decisionTimes = new Map<number, number[]>();
  for (const c of comments) {
    const task = plan.tasks.get(c.taskId);
    if (!task || c.bot !== task.bot || !isDecision(c)) continue;
    const times = decisionTimes.get(c.taskId) ?? [];
    times.push(Date.parse(c.at));
    decisionTimes.set(c.taskId, times);
  }
  const attemptsOf = new Map<number, DeliveryRecord[]>();
  for (const d of deliveries) {
    if (!plan.tasks.has(d.taskId)) continue;
    attemptsOf.set(d.taskId, [...(attemptsOf.get(d.taskId) ?? []), d]);
  }
  const figures: RowFigures = {
    fault: plan.fault,
    sent: plan.tasks.size,
    acknowledged: 0,
    decidedOnce: 0,
    lost: 0,
    doubled: 0,
    fiveHundreds: 0,
    recoverMs: null,
    unacknowledged: 0,
    unacknowledgedDecided: 0,
    hostile: [],
  };
  let lastDecision = -Infinity;
  for (const [taskId, task] of plan.tasks) {
    const records = attemptsOf.get(taskId) ?? [];
    const attempts = records.flatMap((r) => r.attempts);
    const acknowledged = attempts.some((a) => a.ok);
    const decisions = decisionTimes.get(taskId) ?? [];
    figures.fiveHundreds += attempts.filter((a) => a.status !== undefined && a.status >= 500 && a.status <= 599).length;
    if (decisions.length === 1) figures.decidedOnce += 1;
    if (decisions.length > 1) figures.doubled += 1;
    if (acknowledged) {
      figures.acknowledged += 1;
      if (decisions.length === 0) figures.lost += 1;
      else lastDecision = Math.max(lastDecision, Math.min(...decisions));
    } else {
      figures.unacknowledged += 1;
      if (decisions.length > 0) figures.unacknowledgedDecided += 1;
    }
    if (task.hostile) {
      const statuses = attempts.map((a) => (a.status !== undefined ? String(a.status) : (a.error ?? 'no answer'))).join(', ');
      figures.hostile.push({ kind: task.hostile, taskId, statuses, decisions: decisions.length });
    }
  }
  if (figures.lost === 0) figures.recoverMs = lastDecision === -Infinity ? 0 : Math.max(0, lastDecision - plan.faultEndedAt);
  return figures;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The Markdown table, one row per fault, with the machine and date it ran on and the notes of each row. */
export function renderReport(rows: RowFigures[], plans: RowPlan[], context: { settings: string; recoveryBoundMs: number }): string {
  const cpu = cpus();
  const lines = [
    `### Chaos run, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Machine: ${cpu.length} cores, ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GB memory; Node ${process.version}.`,
    context.settings,
    '',
    '| fault | sent | acknowledged | decided once | lost | doubled | 5xx | time to recover |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.fault} | ${r.sent} | ${r.acknowledged} | ${r.decidedOnce} | ${r.lost} | ${r.doubled} | ${r.fiveHundreds} | ${
          r.recoverMs === null ? `not within ${seconds(context.recoveryBoundMs)}` : seconds(r.recoverMs)
        } |`,
    ),
    '',
  ];
  rows.forEach((r, i) => {
    const notes = [...plans[i].notes];
    if (r.unacknowledged > 0)
      notes.push(`${r.unacknowledged} never acknowledged (Pyrus gave up), ${r.unacknowledgedDecided} of them decided all the same`);
    for (const h of r.hostile)
      notes.push(`${h.kind} (task ${h.taskId}): answered ${h.statuses}; ${h.decisions} decision${h.decisions === 1 ? '' : 's'}`);
    if (notes.length) lines.push(`- ${r.fault}: ${notes.join('; ')}.`);
  });
  return lines.join('\n');
}
