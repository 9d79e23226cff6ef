import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintToNumber } from '../bigint.transformer';

export type OutboundCallTarget = 'pyrus' | 'erp';
export type OutboundCallOutcome = 'ok' | 'error';

/**
 * One HTTP request the worker made to Pyrus or the ERP, for a task's audit timeline; and each decision handed to
 * Pyrus in a webhook's answer instead (operation "answer to POST /bots/{bot}/webhook", duration 0), so the log shows
 * how every decision reached Pyrus.
 */
@Entity({ name: 'outbound_calls' })
@Index('ix_outbound_calls_task', ['bot', 'taskId', 'at'])
export class OutboundCall {
  @PrimaryColumn({ type: 'bigint', generated: 'increment', transformer: bigintToNumber })
  id: number;

  @Column({ type: 'text' })
  target: OutboundCallTarget;

  /** "POST /tasks/{id}/comments", "POST /auth", "create-payment-order": ids as placeholders, never a token. */
  @Column({ type: 'text' })
  operation: string;

  @Column({ type: 'text', nullable: true })
  bot: string | null;

  @Column({ name: 'task_id', type: 'bigint', nullable: true, transformer: bigintToNumber })
  taskId: number | null;

  @Column({ name: 'delivery_id', type: 'uuid', nullable: true })
  deliveryId: string | null;

  @Column({ name: 'payment_id', type: 'uuid', nullable: true })
  paymentId: string | null;

  /** HTTP status; null when no answer came. */
  @Column({ type: 'int', nullable: true })
  status: number | null;

  @Column({ type: 'text' })
  outcome: OutboundCallOutcome;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  @Column({ name: 'duration_ms', type: 'int' })
  durationMs: number;

  /** When the request was sent. */
  @Column({ type: 'timestamptz' })
  at: Date;
}
