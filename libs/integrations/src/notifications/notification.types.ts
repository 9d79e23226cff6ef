export type NotificationChannel = 'email' | 'sms';

/** What one send did, for the caller to store; a send never throws for a delivery problem, it returns this. */
export interface NotificationOutcome {
  channel: NotificationChannel;
  to: string;
  status: 'sent' | 'failed';
  /** Why it failed, without secrets. */
  error?: string;
  /** The provider's id of the message: the Message-ID of an e-mail, the gateway's id of an SMS. */
  providerId?: string;
  /** On failure: whether the same send may succeed later (no connection, a timeout, a 4xx SMTP reply, a 5xx). */
  retryable?: boolean;
}
