import { Logger } from '@nestjs/common';
import Redis from 'ioredis';

/** Host and port of a redis:// URL, with Redis's defaults; undefined for a URL that does not parse. */
export function redisEndpoint(url: string): { host: string; port: number } | undefined {
  try {
    const parsed = new URL(url);
    return { host: parsed.hostname || '127.0.0.1', port: Number(parsed.port) || 6379 };
  } catch {
    return undefined;
  }
}

/** `host:port` for a log line; never the URL itself, which may hold a password. */
export function redisAddress(url: string): string {
  const endpoint = redisEndpoint(url);
  return endpoint ? `${endpoint.host}:${endpoint.port}` : 'the configured address';
}

/**
 * Says in the log, once, that Redis is gone, and once that it is back, however many connections it watches:
 * ioredis reconnects by itself, but a client without an 'error' listener prints a stack trace for every failed
 * reconnect, several a second.
 */
export class RedisConnectionMonitor {
  private readonly logger = new Logger('Redis');
  private readonly unavailable = new Set<Redis>();
  private lostAt?: number;

  constructor(private readonly address: string) {}

  /** Listens to the client's connection events; returns it for chaining. */
  watch(client: Redis): Redis {
    client.on('error', (err: Error) => this.lost(client, err));
    // ioredis emits 'reconnecting' only for a connection it did not close on purpose, so quit() at shutdown is silent.
    client.on('reconnecting', () => this.lost(client));
    client.on('ready', () => this.regained(client));
    client.on('end', () => this.forget(client));
    return client;
  }

  private lost(client: Redis, err?: Error): void {
    if (client.status === 'ready') {
      // An error on a working connection is not an outage (a reply the client could not read): say it, no stack.
      if (err) this.logger.warn(`Redis at ${this.address}: ${err.message}`);
      return;
    }
    this.unavailable.add(client);
    if (this.lostAt !== undefined) return;
    this.lostAt = Date.now();
    // A dropped connection gives no error: the reconnect's error would come after this line.
    const reason = err ? describe(err) : 'connection lost';
    this.logger.warn(
      `Redis at ${this.address} is unreachable (${reason}); retrying until it is back (meanwhile no job is queued or run, and /health/ready reports redis down)`,
    );
  }

  private regained(client: Redis): void {
    if (!this.unavailable.delete(client)) return;
    this.settle();
  }

  /** A connection closed for good (quit at shutdown) no longer counts, and its end is not Redis coming back. */
  private forget(client: Redis): void {
    this.unavailable.delete(client);
    if (this.unavailable.size === 0) this.lostAt = undefined;
  }

  private settle(): void {
    if (this.unavailable.size > 0 || this.lostAt === undefined) return;
    const seconds = ((Date.now() - this.lostAt) / 1000).toFixed(1);
    this.lostAt = undefined;
    this.logger.log(`Redis at ${this.address} is back after ${seconds} s`);
  }
}

function describe(err: Error): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
}
