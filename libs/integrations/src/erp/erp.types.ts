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

export interface ErpClientSettings {
  /** Base URL without a trailing slash. */
  url: string;
  /** Appended to url; default "/payment-orders". */
  path: string;
  authHeader: string;
  /** Sent as the authHeader's value; kept out of every message. */
  authValue?: string;
  timeoutMs: number;
  /** Extra tries after a network error, a timeout or a 5xx. */
  retries: number;
  /** First retry delay; doubles each time, with jitter. */
  retryBaseMs: number;
}
