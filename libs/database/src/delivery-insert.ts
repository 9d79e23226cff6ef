/** A delivery to store under its natural key (bot, task id, dedupe key). */
export interface NewDelivery {
  bot: string;
  taskId: number;
  event: string;
  dedupeKey: string;
  retryHeader: string | null;
  userAgent: string | null;
  requestId: string;
  bodyBytes: number;
  /** Stored as given: redact it first. */
  payload: unknown;
  /** Copies of the same key folded into this row by the caller (the api's group commit); 0 by default. */
  repeats?: number;
  /** Set when characters were replaced in `payload` (see toStorablePayload). */
  bodySha256?: string;
  replacedChars?: number;
}

export interface StoredDeliveryRow {
  id: string;
  bot: string;
  taskId: number;
  dedupeKey: string;
  queuedAt: Date | null;
  /** True only for a row this statement inserted. */
  inserted: boolean;
}

export interface InsertDeliveriesOptions {
  /**
   * A row already stored under the key counts this as a repeat (Pyrus's retry). False for a caller that is not
   * Pyrus (the inbox sweep), so repeat_count keeps meaning "deliveries seen after the first".
   */
  countRepeats?: boolean;
}

/** Anything that runs SQL: a DataSource, an EntityManager or a QueryRunner. */
export interface SqlRunner {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

const COLUMNS = 11;

/**
 * One INSERT ... ON CONFLICT on the natural key for every record, so a webhook and the inbox sweep that find the
 * same event end up in one row. The records must have distinct keys (Postgres cannot update a row twice in one
 * statement). Returns one row per record, in order.
 */
export async function insertDeliveries(
  db: SqlRunner,
  records: NewDelivery[],
  options: InsertDeliveriesOptions = {},
): Promise<StoredDeliveryRow[]> {
  if (records.length === 0) return [];
  const params: unknown[] = [];
  const values = records.map((r, n) => {
    params.push(
      r.bot,
      r.taskId,
      r.event,
      r.dedupeKey,
      r.retryHeader,
      r.userAgent,
      r.requestId,
      r.bodyBytes,
      JSON.stringify(r.payload),
      r.bodySha256 ?? null,
      r.replacedChars ?? 0,
    );
    const p = (k: number) => `$${n * COLUMNS + k}`;
    return `(${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, ${p(7)}, ${p(8)}, ${p(9)}::jsonb, ${p(10)}, ${p(11)}::int, ${Math.max(0, Math.floor(r.repeats ?? 0))})`;
  });
  // DO UPDATE (not DO NOTHING) so RETURNING also gives the row that was already there.
  const onConflict =
    options.countRepeats === false
      ? 'repeat_count = deliveries.repeat_count'
      : 'repeat_count = deliveries.repeat_count + EXCLUDED.repeat_count + 1';
  const rows = (await db.query(
    `INSERT INTO deliveries (bot, task_id, event, dedupe_key, retry_header, user_agent, request_id, body_bytes, payload, body_sha256, replaced_chars, repeat_count)
     VALUES ${values.join(', ')}
     ON CONFLICT (bot, task_id, dedupe_key) DO UPDATE SET ${onConflict}
     RETURNING id, bot, task_id, dedupe_key, queued_at, (xmax = 0) AS inserted`,
    params,
  )) as Array<{ id: string; bot: string; task_id: string; dedupe_key: string; queued_at: Date | null; inserted: boolean }>;
  const byKey = new Map(rows.map((r) => [naturalKey(r.bot, Number(r.task_id), r.dedupe_key), r]));
  return records.map((r) => {
    const row = byKey.get(naturalKey(r.bot, r.taskId, r.dedupeKey));
    if (!row) throw new Error(`The insert returned no row for task ${r.taskId} of bot "${r.bot}"`);
    return {
      id: row.id,
      bot: row.bot,
      taskId: Number(row.task_id),
      dedupeKey: row.dedupe_key,
      queuedAt: row.queued_at,
      inserted: row.inserted,
    };
  });
}

export function naturalKey(bot: string, taskId: number, dedupeKey: string): string {
  return `${bot}\u0000${taskId}\u0000${dedupeKey}`;
}
