import type { ErpConfig } from '@app/config';

/** What the ERP receives, as JSON, to create one payment order. */
export interface PaymentOrder {
  /** Our payment row's id; sent as the Idempotency-Key, so a repeated call cannot create a second order. */
  paymentId: string;
  taskId: number;
  /** Supplier tax id, else the normalised name. */
  supplierKey: string;
  supplierName: string;
  invoiceNumber: string;
  /** ISO date, YYYY-MM-DD. */
  invoiceDate: string;
  /** A decimal string ("1250.00"), never a float: money must not be rounded on the way. */
  amount: string;
  /** ISO 4217 code. */
  currency: string;
  costCentre?: string;
}

export interface PaymentOrderResult {
  /** The ERP's id of the order (its `id` or `documentId`). */
  documentId: string;
  /** HTTP status of the answer that gave the id. */
  status: number;
  /** True when the ERP already had an order for this payment (409 with the id, or an idempotent replay). */
  duplicate: boolean;
}

/** What the client needs of the ERP settings (the breaker's own settings are the module's business). */
export type ErpClientSettings = Omit<ErpConfig, 'breakerThreshold' | 'breakerCooldownMs'>;
