import { BeforeApplicationShutdown, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { errorMessage, withTimeout } from '@app/observability';
import { RedisService } from '@app/queue';

/** What the worker tells a waiting api about a delivery: a decision is recorded, or there is none to answer with. */
export type DecisionNews = 'decided' | 'none';
/** What the api's wait ended with: the worker's news, the budget spent, or no channel to hear it on. */
export type WaitResult = DecisionNews | 'timeout' | 'unavailable';

/** A wait registered before the event it waits for can happen, so a message that comes at once is not missed. */
export interface PendingWait<T> {
  result: Promise<T>;
  /** Stops waiting now (the result becomes the wait's "nothing came"). */
  cancel(): void;
}

/** Subscribing takes one round trip; a Redis that does not answer in this time means no waiting, not a hung request. */
const SUBSCRIBE_TIMEOUT_MS = 1000;

/**
 * The Redis pub/sub messages of an inline reply (reply `auto` or `inline` in the bots file). The api, holding a
 * webhook open, waits to hear that the worker recorded the decision; the worker, holding the decision, waits to hear
 * that an api answered with it. Messages only wake the waiters up: which side delivers is settled by the hand-over
 * claim in PostgreSQL (DeliveryJourney.claimInline / claimForApi), so a lost or late message costs time, never a
 * decision. Every process subscribes to both channels at start, on a connection of its own.
 */
@Injectable()
export class InlineReplies implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly decisionsChannel: string;
  private readonly answersChannel: string;
  private subscriber?: Redis;
  private subscribed?: Promise<boolean>;
  private readonly decisionWaiters = new Map<string, Set<(news: DecisionNews) => void>>();
  private readonly answerWaiters = new Map<string, Set<() => void>>();
  /** Every wait under way, to end at shutdown; none starts after. */
  private readonly pending = new Set<() => void>();
  private closing = false;

  constructor(
    private readonly redis: RedisService,
    @InjectPinoLogger(InlineReplies.name) private readonly logger: PinoLogger,
  ) {
    this.decisionsChannel = redis.key('inline', 'decisions');
    this.answersChannel = redis.key('inline', 'answered');
  }

  /**
   * The api: waits until the worker has news of the delivery known by `key` (inlineKey), or until `deadline` (epoch
   * ms). Registered before the delivery is queued, so the worker cannot be faster than the wait.
   */
  expectDecision(key: string, deadline: number): PendingWait<WaitResult> {
    return this.wait<WaitResult, (news: DecisionNews) => void>(
      this.decisionWaiters,
      key,
      deadline,
      { timeout: 'timeout', unavailable: 'unavailable' },
      (resolve) => (news) => resolve(news),
    );
  }

  /** The worker: waits until an api says it answered the webhook of `deliveryId` with the decision, or `deadline`. */
  expectAnswer(deliveryId: string, deadline: number): PendingWait<boolean> {
    return this.wait<boolean, () => void>(
      this.answerWaiters,
      deliveryId,
      deadline,
      { timeout: false, unavailable: false },
      (resolve) => () => resolve(true),
    );
  }

  /** The worker: the delivery's decision is recorded (or there is none); false when the message could not be sent. */
  announceDecision(key: string, news: DecisionNews): Promise<boolean> {
    return this.publish(this.decisionsChannel, { key, news });
  }

  /** The api: it answered the webhook of `deliveryId` with the decision, so the worker need not wait on. */
  announceAnswered(deliveryId: string): Promise<boolean> {
    return this.publish(this.answersChannel, { deliveryId });
  }

  /** Subscribed before the first webhook or job, so no side's first message is lost to a subscription under way. */
  onApplicationBootstrap(): void {
    void this.subscribe();
  }

  /** True once this process hears the other side's messages; a wait started before that could miss them. */
  listening(): Promise<boolean> {
    return this.subscribe();
  }

  /**
   * Ends every wait at once, as if its budget ran out: an api answers its open webhooks without the decision (the
   * worker posts it) instead of holding its shutdown for up to a budget, and a worker takes its decisions for the API.
   */
  beforeApplicationShutdown(): void {
    this.closing = true;
    for (const stop of [...this.pending]) stop();
  }

  async onApplicationShutdown(): Promise<void> {
    for (const waiters of [this.decisionWaiters, this.answerWaiters]) waiters.clear();
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }

  private wait<T, L extends (...args: never[]) => void>(
    registry: Map<string, Set<L>>,
    key: string,
    deadline: number,
    nothing: { timeout: T; unavailable: T },
    listenerFor: (resolve: (value: T) => void) => L,
  ): PendingWait<T> {
    let settle!: (value: T) => void;
    const result = new Promise<T>((resolve) => (settle = resolve));
    let done = false;
    const stop = () => finish(nothing.timeout);
    const finish = (value: T) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.pending.delete(stop);
      const set = registry.get(key);
      set?.delete(listener);
      if (set?.size === 0) registry.delete(key);
      settle(value);
    };
    const listener = listenerFor(finish);
    const timer = setTimeout(stop, this.closing ? 0 : Math.max(0, deadline - Date.now()));
    this.pending.add(stop);
    const set = registry.get(key) ?? new Set<L>();
    set.add(listener);
    registry.set(key, set);
    void this.subscribe().then((ok) => {
      if (!ok) finish(nothing.unavailable);
    });
    return { result, cancel: stop };
  }

  /**
   * Subscribes once per process (ioredis subscribes again by itself after a reconnect); false while the subscription
   * is not live, so nobody waits for a message that cannot come. A failed first try is tried again on the next call.
   */
  private subscribe(): Promise<boolean> {
    if (!this.subscribed) {
      const subscriber = this.redis.client.duplicate({ maxRetriesPerRequest: 1 });
      this.subscriber = subscriber;
      subscriber.on('error', () => undefined);
      subscriber.on('message', (channel: string, text: string) => this.onMessage(channel, text));
      this.subscribed = withTimeout(
        subscriber.subscribe(this.decisionsChannel, this.answersChannel),
        SUBSCRIBE_TIMEOUT_MS,
        'Redis did not subscribe in time',
      ).then(
        () => true,
        (err: unknown) => {
          this.logger.warn(
            { err: errorMessage(err) },
            'Cannot subscribe to the inline-reply channels; webhooks are answered without waiting',
          );
          subscriber.disconnect();
          this.subscribed = undefined;
          return false;
        },
      );
    }
    return this.subscribed.then((ok) => ok && this.subscriber?.status === 'ready');
  }

  private onMessage(channel: string, text: string): void {
    let message: { key?: unknown; news?: unknown; deliveryId?: unknown };
    try {
      message = JSON.parse(text) as typeof message;
    } catch {
      return;
    }
    if (channel === this.decisionsChannel && typeof message.key === 'string' && (message.news === 'decided' || message.news === 'none')) {
      const news = message.news;
      for (const waiter of [...(this.decisionWaiters.get(message.key) ?? [])]) waiter(news);
    } else if (channel === this.answersChannel && typeof message.deliveryId === 'string') {
      for (const waiter of [...(this.answerWaiters.get(message.deliveryId) ?? [])]) waiter();
    }
  }

  private async publish(channel: string, message: object): Promise<boolean> {
    try {
      if (this.redis.client.status !== 'ready') return false;
      await withTimeout(this.redis.client.publish(channel, JSON.stringify(message)), SUBSCRIBE_TIMEOUT_MS, 'Redis did not publish in time');
      return true;
    } catch (err) {
      this.logger.warn(
        { err: errorMessage(err), channel },
        'Could not publish an inline-reply message; the other side waits out its budget',
      );
      return false;
    }
  }
}

/** What a delivery is known by before it is stored: its natural key (bot, task, dedupe key). */
export function inlineKey(bot: string, taskId: number, dedupeKey: string): string {
  return `${bot}:${taskId}:${dedupeKey}`;
}
