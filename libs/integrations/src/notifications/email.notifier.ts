import { createTransport } from 'nodemailer';
import { scrubSecrets } from '../http/scrub-secrets';
import { renderTemplate, TemplateError, TemplateValues } from './message-template';
import { NotificationOutcome } from './notification.types';
import type { EmailConfig } from '@app/config';

export type EmailSettings = EmailConfig;

export interface EmailMessage {
  to: string;
  /** Templates: `{name}` placeholders are filled from `values`. */
  subject: string;
  text: string;
  values?: TemplateValues;
}

const ADDRESS = /^[^\s@<>,;]+@[^\s@<>,;]+$/;
/** Failures of the connection rather than of the message: the same send may go through later. */
const TRANSIENT_CODES = new Set(['ECONNECTION', 'ESOCKET', 'ETIMEDOUT', 'EDNS', 'ETLS', 'ECONNREFUSED', 'ECONNRESET']);

/**
 * E-mail over SMTP with nodemailer, one connection per message (notifications are few; a pool would hold a socket
 * open for nothing). Plain-text only. `send` never throws for a delivery problem: it returns a 'failed' outcome whose
 * error names the cause (a template value missing, an address refused, a login refused, no connection) without the
 * SMTP password. Built with settings null (SMTP_URL not set), every send fails as "not configured".
 */
export class EmailNotifier {
  private readonly transport;
  private readonly secrets: string[];

  constructor(private readonly settings: EmailSettings | null) {
    this.secrets = settings ? urlSecrets(settings.url) : [];
    this.transport = settings
      ? createTransport({
          url: settings.url,
          connectionTimeout: settings.timeoutMs,
          greetingTimeout: settings.timeoutMs,
          socketTimeout: settings.timeoutMs,
        })
      : null;
  }

  get enabled(): boolean {
    return this.settings !== null;
  }

  async send(message: EmailMessage): Promise<NotificationOutcome> {
    const to = message.to.trim();
    const failed = (error: string, retryable: boolean): NotificationOutcome => ({
      channel: 'email',
      to,
      status: 'failed',
      error,
      retryable,
    });
    if (!this.settings || !this.transport) return failed('E-mail is not configured (SMTP_URL is not set)', false);
    if (!ADDRESS.test(to)) return failed(`Not an e-mail address: "${to}"`, false);
    let subject: string;
    let text: string;
    try {
      // A header cannot span lines; a value with a line break must not make one.
      subject = renderTemplate(message.subject, message.values ?? {}).replace(/[\r\n]+/g, ' ');
      text = renderTemplate(message.text, message.values ?? {});
    } catch (err) {
      if (err instanceof TemplateError) return failed(err.message, false);
      throw err;
    }
    try {
      const info = await this.transport.sendMail({ from: this.settings.from, to, subject, text });
      if (info.rejected.length > 0) return failed(`SMTP server refused the recipient: ${info.response}`, false);
      return { channel: 'email', to, status: 'sent', providerId: info.messageId };
    } catch (err) {
      return failed(this.describe(err), isTransient(err));
    }
  }

  close(): void {
    this.transport?.close();
  }

  private describe(err: unknown): string {
    const e = err as { code?: string; message?: string };
    const text = `SMTP ${e.code ?? 'error'}: ${e.message ?? String(err)}`.replace(/\s+/g, ' ').trim();
    return scrubSecrets(text, this.secrets);
  }
}

function isTransient(err: unknown): boolean {
  const { code, responseCode } = err as { code?: string; responseCode?: number };
  if (typeof responseCode === 'number') return responseCode >= 400 && responseCode < 500;
  return code !== undefined && TRANSIENT_CODES.has(code);
}

/** The user and password of an smtp:// URL, raw and decoded. */
function urlSecrets(url: string): string[] {
  try {
    const { username, password } = new URL(url);
    return [password, safeDecode(password), username, safeDecode(username)].filter((s) => s !== '');
  } catch {
    return [];
  }
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
