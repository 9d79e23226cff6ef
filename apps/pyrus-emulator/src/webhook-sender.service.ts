import { ClientRequest, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { signPyrusBody } from '@app/pyrus';
import { DeliveryAttempt, DeliveryRecord, EmulatorBot } from './emulator.types';
import { WakeableSleeps } from './wakeable-sleeps';

/** Pyrus's schedule (protocol 1.5): attempts at 0, 61 s and 122 s from the first call; each must get a 2xx within 60 s. */
export const DELIVERY_OFFSETS_MS = [0, 61_000, 122_000];
export const DELIVERY_TIMEOUT_MS = 60_000;
export const DELIVERY_USER_AGENT = 'Pyrus-Bot-4';
const MAX_ANSWER_CHARS = 64 * 1024;

export interface DeliveryParams {
  bot: EmulatorBot;
  taskId: number;
  event: string;
  url: string;
  /** The whole body object: {event, access_token, task_id, user_id, bot_settings, task}. */
  payload: Record<string, unknown>;
  /** These exact bytes (as UTF-8) instead of the payload's JSON, signed as they are: for bodies JSON.stringify cannot make. */
  body?: string;
}

export interface WebhookSenderOptions {
  /** Multiplies the 60 s timeout and the 61 s / 122 s offsets. */
  timeScale?: number;
  log?: (line: string) => void;
  /** Called with a 2xx answer's body (e.g. to apply it as the bot's comment). */
  onDelivered?: (delivery: DeliveryRecord, answerBody: string) => void;
}

/** Sends signed deliveries the way Pyrus does, with its retry schedule, and keeps a record of each. */
export class WebhookSender {
  readonly deliveries: DeliveryRecord[] = [];
  timeScale: number;
  private nextId = 1;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly requests = new Set<ClientRequest>();
  private readonly pending = new Set<Promise<DeliveryRecord>>();
  private readonly sleeps = new WakeableSleeps();
  /** Bumped by stop(): a delivery started before it gives up instead of going on. */
  private generation = 0;

  constructor(private readonly options: WebhookSenderOptions = {}) {
    this.timeScale = options.timeScale ?? 1;
  }

  send(params: DeliveryParams): Promise<DeliveryRecord> {
    const body = params.body ?? JSON.stringify(params.payload);
    const record: DeliveryRecord = {
      id: this.nextId++,
      bot: params.bot.name,
      taskId: params.taskId,
      event: params.event,
      url: params.url,
      body,
      signature: signPyrusBody(Buffer.from(body, 'utf8'), params.bot.securityKey),
      startedAt: new Date().toISOString(),
      attempts: [],
      outcome: 'pending',
    };
    this.deliveries.push(record);
    const run = this.run(record).finally(() => this.pending.delete(run));
    this.pending.add(run);
    return run;
  }

  /** Resolves when every delivery under way has delivered or given up. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Cancels pending retries and in-flight requests (their records end as "failed"). */
  stop(): void {
    this.generation += 1;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.sleeps.wakeAll();
    for (const r of this.requests) r.destroy(new Error('emulator stopped'));
    this.requests.clear();
  }

  private async run(record: DeliveryRecord): Promise<DeliveryRecord> {
    const generation = this.generation;
    const stopped = () => generation !== this.generation;
    const first = Date.now();
    const total = DELIVERY_OFFSETS_MS.length;
    for (let i = 0; i < total; i++) {
      const due = first + DELIVERY_OFFSETS_MS[i] * this.timeScale;
      // a timer may fire a millisecond early: wait until the due time has surely passed
      while (!stopped() && Date.now() < due) await this.sleeps.sleep(due - Date.now());
      if (stopped()) break;
      const retryHeader = `${i + 1}/${total}`;
      const startedAt = Date.now();
      const answer = await this.post(record, retryHeader, DELIVERY_TIMEOUT_MS * this.timeScale);
      const attempt: DeliveryAttempt = {
        attempt: i + 1,
        retryHeader,
        offsetMs: startedAt - first,
        durationMs: Date.now() - startedAt,
        ok: answer.status !== undefined && answer.status >= 200 && answer.status < 300,
        ...answer,
      };
      record.attempts.push(attempt);
      this.options.log?.(
        `delivery #${record.id} to ${record.bot} task ${record.taskId} attempt ${retryHeader}: ${attempt.status ?? attempt.error} in ${attempt.durationMs} ms`,
      );
      if (attempt.ok) {
        record.outcome = 'delivered';
        try {
          this.options.onDelivered?.(record, answer.responseBody ?? '');
        } catch (err) {
          this.options.log?.(`delivery #${record.id}: the answer could not be applied: ${(err as Error).message}`);
        }
        return record;
      }
    }
    record.outcome = 'failed';
    return record;
  }

  private post(
    record: DeliveryRecord,
    retryHeader: string,
    timeoutMs: number,
  ): Promise<Pick<DeliveryAttempt, 'status' | 'error' | 'responseBody'>> {
    return new Promise((resolve) => {
      let settled = false;
      const done = (value: Pick<DeliveryAttempt, 'status' | 'error' | 'responseBody'>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.timers.delete(timer);
        this.requests.delete(req);
        resolve(value);
      };
      const url = new URL(record.url);
      const bytes = Buffer.from(record.body, 'utf8');
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(
        url,
        {
          method: 'POST',
          agent: false,
          headers: {
            'Content-Type': 'application/json; charset=utf-8',
            'Content-Length': String(bytes.length),
            'User-Agent': DELIVERY_USER_AGENT,
            'X-Pyrus-Sig': record.signature,
            'X-Pyrus-Retry': retryHeader,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size <= MAX_ANSWER_CHARS) chunks.push(chunk);
          });
          res.on('end', () => done({ status: res.statusCode, responseBody: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', (err) => done({ status: res.statusCode, error: err.message }));
        },
      );
      const timer = setTimeout(() => {
        done({ error: `no answer within ${timeoutMs} ms` });
        req.destroy();
      }, timeoutMs);
      this.timers.add(timer);
      this.requests.add(req);
      req.on('error', (err) => done({ error: (err as NodeJS.ErrnoException).code ?? err.message }));
      req.end(bytes);
    });
  }
}
