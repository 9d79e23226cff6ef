import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { bigintToNumber } from '../bigint.transformer';

export enum DeliveryStatus {
  /** Stored; waiting for (or in) the worker. */
  Received = 'received',
  /** The handler ran and its decision reached Pyrus. */
  Processed = 'processed',
  /** Nothing to do (the bot's vote is no longer awaited, or the handler decided to stay silent). */
  Skipped = 'skipped',
  /** Gave up: a 4xx from Pyrus, or the last retry failed; `last_error` says why. */
  Failed = 'failed',
}

/** One webhook call from Pyrus, as received (the payload with `access_token` redacted). */
@Entity({ name: 'deliveries' })
@Index('uq_deliveries_natural_key', ['bot', 'taskId', 'dedupeKey'], { unique: true })
export class Delivery {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  bot: string;

  @Column({ name: 'task_id', type: 'bigint', transformer: bigintToNumber })
  taskId: number;

  @Column({ type: 'text' })
  event: string;

  /** `<event>:c<last comment id>`, or `<event>:sha256:<hash of the redacted body>` when the task has no comments. */
  @Column({ name: 'dedupe_key', type: 'text' })
  dedupeKey: string;

  @Column({ name: 'retry_header', type: 'text', nullable: true })
  retryHeader: string | null;

  @Column({ name: 'user_agent', type: 'text', nullable: true })
  userAgent: string | null;

  @Column({ name: 'request_id', type: 'text' })
  requestId: string;

  @Column({ name: 'received_at', type: 'timestamptz', default: () => 'now()' })
  receivedAt: Date;

  /** Set once Bull holds the job; the sweeper queues rows where it is still null. */
  @Column({ name: 'queued_at', type: 'timestamptz', nullable: true })
  queuedAt: Date | null;

  @Column({ type: 'text', default: DeliveryStatus.Received })
  status: DeliveryStatus;

  /** Repeated deliveries of the same natural key (Pyrus's retries) seen after the first. */
  @Column({ name: 'repeat_count', type: 'int', default: 0 })
  repeatCount: number;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;

  @Column({ name: 'body_bytes', type: 'int' })
  bodyBytes: number;

  @Column({ type: 'jsonb' })
  payload: Record<string, unknown>;

  /** SHA-256 of the body as received, kept when characters PostgreSQL cannot hold were replaced in `payload`. */
  @Column({ name: 'body_sha256', type: 'text', nullable: true })
  bodySha256: string | null;

  /** NUL characters and lone surrogates replaced by U+FFFD before storing; 0 for an untouched payload. */
  @Column({ name: 'replaced_chars', type: 'int', default: 0 })
  replacedChars: number;
}
