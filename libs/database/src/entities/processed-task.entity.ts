import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { bigintToNumber } from '../bigint.transformer';

export enum ProcessedOutcome {
  /** The intent is written; the Pyrus call has not answered yet (or its answer was lost). */
  Posting = 'posting',
  Posted = 'posted',
  Skipped = 'skipped',
  Failed = 'failed',
}

export type DeliveredVia = 'inline' | 'api';

/**
 * What the bot did with one delivery: the decision, the comment sent (the outbox row, written before the call),
 * Pyrus's answer and the timings.
 */
@Entity({ name: 'processed_tasks' })
@Index('ix_processed_tasks_bot_task', ['bot', 'taskId'])
export class ProcessedTask {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'delivery_id', type: 'uuid', unique: true })
  deliveryId: string;

  @Column({ type: 'text' })
  bot: string;

  @Column({ name: 'task_id', type: 'bigint', transformer: bigintToNumber })
  taskId: number;

  @Column({ type: 'text' })
  handler: string;

  @Column({ type: 'text' })
  outcome: ProcessedOutcome;

  /** Why the handler decided as it did, or why nothing was posted. */
  @Column({ type: 'text', nullable: true })
  reason: string | null;

  /** The comment request sent to Pyrus (POST /tasks/{id}/comments body). */
  @Column({ type: 'jsonb', nullable: true })
  comment: Record<string, unknown> | null;

  @Column({ name: 'pyrus_status', type: 'int', nullable: true })
  pyrusStatus: number | null;

  /** Id of the comment Pyrus created, when its answer showed it. */
  @Column({ name: 'pyrus_comment_id', type: 'bigint', nullable: true, transformer: bigintToNumber })
  pyrusCommentId: number | null;

  /**
   * What this decision claimed: `step:<n>:round:<comment id>` for a bot voting on a step, `event:<key>` for one that
   * only comments. One posting or posted decision per (bot, task, claim).
   */
  @Column({ name: 'claim_key', type: 'text', nullable: true })
  claimKey: string | null;

  /**
   * How the decision reached Pyrus: 'inline' in the webhook's answer, 'api' posted through the API; null while the api
   * process waiting to answer and the worker have not settled it (the hand-over claim: each moves it only from null).
   */
  @Column({ name: 'delivered_via', type: 'text', nullable: true })
  deliveredVia: DeliveredVia | null;

  @Column({ type: 'int', default: 0 })
  attempts: number;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  @Column({ name: 'received_at', type: 'timestamptz' })
  receivedAt: Date;

  @Column({ name: 'started_at', type: 'timestamptz' })
  startedAt: Date;

  @Column({ name: 'posted_at', type: 'timestamptz', nullable: true })
  postedAt: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt: Date | null;
}
