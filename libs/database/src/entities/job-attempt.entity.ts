import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintToNumber } from '../bigint.transformer';

export type JobAttemptOutcome = 'completed' | 'failed';

/** One attempt of a Bull job in the worker (deliveries and follow-ups), for a task's audit timeline. */
@Entity({ name: 'job_attempts' })
@Index('ix_job_attempts_task', ['bot', 'taskId', 'startedAt'])
export class JobAttempt {
  @PrimaryColumn({ type: 'bigint', generated: 'increment', transformer: bigintToNumber })
  id: number;

  @Column({ type: 'text' })
  queue: string;

  @Column({ name: 'job_id', type: 'text' })
  jobId: string;

  @Column({ name: 'job_name', type: 'text' })
  jobName: string;

  /** 1 for the first attempt. */
  @Column({ type: 'int' })
  attempt: number;

  @Column({ type: 'text', nullable: true })
  bot: string | null;

  @Column({ name: 'task_id', type: 'bigint', nullable: true, transformer: bigintToNumber })
  taskId: number | null;

  @Column({ name: 'delivery_id', type: 'uuid', nullable: true })
  deliveryId: string | null;

  @Column({ name: 'payment_id', type: 'uuid', nullable: true })
  paymentId: string | null;

  @Column({ name: 'started_at', type: 'timestamptz' })
  startedAt: Date;

  @Column({ name: 'finished_at', type: 'timestamptz' })
  finishedAt: Date;

  @Column({ type: 'text' })
  outcome: JobAttemptOutcome;

  /** Why the attempt failed (no token, no key: the messages of the service's own errors). */
  @Column({ type: 'text', nullable: true })
  error: string | null;
}
