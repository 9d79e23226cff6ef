import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { bigintToNumber } from '../bigint.transformer';

export type PaymentStatus = 'pending' | 'approved' | 'rejected' | 'paid' | 'cancelled';

/** One payment request (an invoice-approval task) as the bot decided it, or as backfilled from the register. */
@Entity({ name: 'payments' })
export class Payment {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  bot: string;

  @Column({ name: 'task_id', type: 'bigint', transformer: bigintToNumber })
  taskId: number;

  @Column({ name: 'form_id', type: 'bigint', nullable: true, transformer: bigintToNumber })
  formId: number | null;

  /** The supplier's tax id, else its normalised name. */
  @Column({ name: 'supplier_key', type: 'text' })
  supplierKey: string;

  @Column({ name: 'supplier_name', type: 'text', nullable: true })
  supplierName: string | null;

  @Column({ name: 'invoice_number', type: 'text', nullable: true })
  invoiceNumber: string | null;

  /** Upper case, without spaces, dashes, slashes or dots: "INV-2024/001" and "inv 2024 001" match. */
  @Column({ name: 'invoice_number_norm', type: 'text', nullable: true })
  invoiceNumberNorm: string | null;

  @Column({ name: 'invoice_date', type: 'date', nullable: true })
  invoiceDate: string | null;

  /** numeric(18,2), kept as a string so no cent is lost to floating point. */
  @Column({ type: 'numeric', precision: 18, scale: 2 })
  amount: string;

  @Column({ type: 'text' })
  currency: string;

  @Column({ name: 'cost_centre', type: 'text', nullable: true })
  costCentre: string | null;

  @Column({ type: 'text' })
  status: PaymentStatus;

  @Column({ name: 'decision_reason', type: 'text', nullable: true })
  decisionReason: string | null;

  /** When the bot decided; for backfilled history, when the task was closed in Pyrus. */
  @Column({ name: 'decided_at', type: 'timestamptz', default: () => 'now()' })
  decidedAt: Date;

  @Column({ name: 'erp_document_id', type: 'text', nullable: true })
  erpDocumentId: string | null;

  @Column({ type: 'text', default: 'bot' })
  source: 'bot' | 'backfill';
}
