import { DataSource } from 'typeorm';
import { BadRequestException } from '@nestjs/common';

/** One page of a list, and the cursor of the next (null on the last page). */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Postgres text of a timestamptz, in UTC to the microsecond: the sort key that cursors carry. */
export const CURSOR_TIME = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/**
 * A timestamptz as JSON would print it (ISO 8601, UTC, milliseconds), made by Postgres: parsing it into a Date in the
 * api only to print it again costs more CPU than the rest of a row.
 */
export const ISO_TIME = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * Keyset pagination: the cursor is the sort key of the last row shown, opaque to the client (base64url JSON). Rows
 * added or removed meanwhile cause neither duplicates nor gaps, unlike an offset.
 */
export function encodeCursor(key: string[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export const CURSOR_PART = {
  id: /^\d{1,19}$/,
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  /** A timestamp as Postgres printed it, to the microsecond (a JS Date would lose the last three digits). */
  timestamp: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/,
};

/** The key inside a cursor, each part checked against its pattern, so a forged cursor is a 400 rather than a SQL error. */
export function decodeCursor(cursor: string, parts: RegExp[]): string[] {
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(key) && key.length === parts.length && key.every((k, i) => typeof k === 'string' && parts[i].test(k))) {
      return key as string[];
    }
  } catch {
    // Falls through to the 400 below.
  }
  throw new BadRequestException({ code: 'INVALID_CURSOR', message: 'cursor is not one this API gave out (use nextCursor as it came)' });
}

/** Rows were fetched with LIMIT limit + 1: the extra row only says there is a next page. */
export function pageOf<T>(rows: T[], limit: number, keyOf: (row: T) => string[]): Page<T> {
  const items = rows.slice(0, limit);
  const nextCursor = rows.length > limit ? encodeCursor(keyOf(items[items.length - 1])) : null;
  return { items, nextCursor };
}

export interface KeysetQuery {
  /** Table (or FROM clause), and the columns a row shows. */
  from: string;
  columns: string;
  /** The timestamptz column the list is ordered by, newest first; `id` breaks ties. */
  time: string;
  /** The filters, with their parameters ($1 … $n) already in `params`. */
  where: string[];
  params: unknown[];
  limit: number;
  cursor?: string;
}

/** One page of rows newest first by (time, id), starting after the cursor's row. */
export async function newestFirstPage<T extends { id: string }>(db: DataSource, q: KeysetQuery): Promise<Page<T>> {
  const where = [...q.where];
  const params = [...q.params];
  const arg = (value: unknown) => `$${params.push(value)}`;
  if (q.cursor) {
    const [at, id] = decodeCursor(q.cursor, [CURSOR_PART.timestamp, CURSOR_PART.uuid]);
    where.push(`(${q.time}, id) < (${arg(at)}::timestamptz, ${arg(id)}::uuid)`);
  }
  const rows: Array<T & { cursorAt: string }> = await db.query(
    `SELECT ${q.columns}, ${CURSOR_TIME(q.time)} AS "cursorAt"
       FROM ${q.from} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY ${q.time} DESC, id DESC LIMIT ${arg(q.limit + 1)}`,
    params,
  );
  const page = pageOf(rows, q.limit, (row) => [row.cursorAt, row.id]);
  return { items: page.items.map(({ cursorAt: _key, ...row }) => row as unknown as T), nextCursor: page.nextCursor };
}
