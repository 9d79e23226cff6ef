import { NoResponseError, parseJsonObject, postJson } from '../http/post-json';
import { authValueSecrets, bodyExcerpt, scrubSecrets } from '../http/scrub-secrets';
import { renderTemplate, TemplateError, TemplateValues } from './message-template';
import { NotificationOutcome } from './notification.types';
import type { SmsConfig } from '@app/config';

export type SmsSettings = SmsConfig;

export interface SmsMessage {
  /** The number as the gateway expects it (E.164, "+4915112345678", is the usual choice). */
  to: string;
  /** Template: `{name}` placeholders are filled from `values`. */
  text: string;
  values?: TemplateValues;
}

/**
 * SMS through a generic HTTP gateway: one POST of {to, text} as JSON with the configured auth header. Any 2xx is
 * "sent" (the gateway's `id`, `messageId` or `message_id`, if any, is the providerId). `send` never throws for a
 * delivery problem: it returns a 'failed' outcome, retryable for no answer, a timeout, a 429 or a 5xx. Not retried
 * here: a gateway that took the message but answered late would send it twice; the caller decides.
 */
export class SmsNotifier {
  private readonly secrets: string[];

  constructor(private readonly settings: SmsSettings | null) {
    this.secrets = authValueSecrets(settings?.authValue);
  }

  get enabled(): boolean {
    return this.settings !== null;
  }

  async send(message: SmsMessage): Promise<NotificationOutcome> {
    const to = message.to.trim();
    const failed = (error: string, retryable: boolean): NotificationOutcome => ({
      channel: 'sms',
      to,
      status: 'failed',
      error: scrubSecrets(error, this.secrets),
      retryable,
    });
    const settings = this.settings;
    if (!settings) return failed('SMS is not configured (SMS_GATEWAY_URL is not set)', false);
    if (to === '') return failed('No phone number', false);
    let text: string;
    try {
      text = renderTemplate(message.text, message.values ?? {});
    } catch (err) {
      if (err instanceof TemplateError) return failed(err.message, false);
      throw err;
    }
    const headers: Record<string, string> = {};
    if (settings.authValue) headers[settings.authHeader.toLowerCase()] = settings.authValue;
    let response;
    try {
      response = await postJson(settings.url, headers, { to, text }, settings.timeoutMs);
    } catch (err) {
      // After a timeout the gateway may have taken the message: a retry could send it twice, which the caller weighs.
      if (err instanceof NoResponseError)
        return failed(`SMS gateway ${err.message}${err.reason === 'timeout' ? ' (the message may have been sent)' : ''}`, true);
      throw err;
    }
    const body = parseJsonObject(response.text);
    if (response.status >= 200 && response.status < 300) {
      return { channel: 'sms', to, status: 'sent', providerId: readId(body) };
    }
    const detail = typeof body?.message === 'string' ? body.message : typeof body?.error === 'string' ? body.error : response.text;
    const excerpt = bodyExcerpt(detail);
    const retryable = response.status >= 500 || response.status === 429;
    return failed(`SMS gateway answered ${response.status}${excerpt ? `: ${excerpt}` : ''}`, retryable);
  }
}

function readId(body: Record<string, unknown> | undefined): string | undefined {
  for (const value of [body?.id, body?.messageId, body?.message_id]) {
    if (typeof value === 'string' && value !== '') return value;
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  }
  return undefined;
}
