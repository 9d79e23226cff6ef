import type { PyrusField, PyrusTask } from '@app/pyrus';
import { EmulatorHttpError } from './emulator.types';

/**
 * Form register filters (`fld{id}` keys, protocol section 6): equals (prefix for text), "gt{v}", "lt{v}",
 * "gt{a},lt{b}", in-list "a,b,c", "empty", "*". gt/lt are strict here (Pyrus's inclusivity is unconfirmed).
 */
export type RegisterCondition = (values: ComparableValue[]) => boolean;
export type ComparableValue = string | number;

/** A filter's text sorted into its kinds; `parts` are the comma-separated values. */
function classify(raw: unknown): { kind: 'empty' | 'any' | 'bounds' | 'list' | 'value'; parts: string[] } {
  const text = Array.isArray(raw) ? raw.map(String).join(',') : String(raw).trim();
  if (text === 'empty') return { kind: 'empty', parts: [] };
  if (text === '*') return { kind: 'any', parts: [] };
  const parts = text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  const bounds = parts.filter((p) => /^(gt|lt)/.test(p));
  if (bounds.length > 0 && bounds.length === parts.length) return { kind: 'bounds', parts };
  return { kind: parts.length > 1 ? 'list' : 'value', parts };
}

export function parseRegisterFilter(raw: unknown): RegisterCondition {
  const { kind, parts } = classify(raw);
  if (kind === 'empty') return (values) => values.length === 0;
  if (kind === 'any') return (values) => values.length > 0;
  if (kind === 'bounds') {
    const checks = parts.map((p) => {
      const target = p.slice(2);
      const sign = p.startsWith('gt') ? 1 : -1;
      return (v: ComparableValue) => sign * compare(v, target) > 0;
    });
    return (values) => values.some((v) => checks.every((check) => check(v)));
  }
  if (kind === 'list') {
    return (values) => values.some((v) => parts.some((p) => equals(v, p)));
  }
  // One value: text matches by prefix, numbers by value. FieldValueIndex.candidates must find every task this matches.
  const wanted = parts[0] ?? '';
  const wantedLower = wanted.toLowerCase();
  const wantedNumber = isNumeric(wanted) ? Number(wanted) : undefined;
  return (values) =>
    values.some((v) => {
      if (isText(v)) return v.toLowerCase().startsWith(wantedLower);
      return wantedNumber !== undefined && Number(v) === wantedNumber;
    });
}

/** The first `fld{id}` filter of one plain value, which a FieldValueIndex can answer; undefined when there is none. */
export function indexableFilter(query: RegisterQuery): { fieldId: number; wanted: string } | undefined {
  for (const [key, raw] of Object.entries(query)) {
    const match = /^fld(\d+)$/.exec(key);
    if (!match) continue;
    const { kind, parts } = classify(raw);
    if (kind === 'value') return { fieldId: Number(match[1]), wanted: parts[0] ?? '' };
  }
  return undefined;
}

/**
 * The tasks of one form by the values of one field, so a one-value filter reads a few tasks rather than every task
 * of the form. `candidates` returns a superset of what that filter matches (numbers by value, and every task with a
 * text value, since text matches by prefix); the filter itself still decides.
 */
export class FieldValueIndex {
  private readonly byNumber = new Map<number, Set<number>>();
  private readonly withText = new Set<number>();

  add(taskId: number, values: ComparableValue[]): void {
    for (const v of values) {
      if (isText(v)) this.withText.add(taskId);
      else {
        const n = Number(v);
        if (!this.byNumber.has(n)) this.byNumber.set(n, new Set());
        this.byNumber.get(n)!.add(taskId);
      }
    }
  }

  remove(taskId: number, values: ComparableValue[]): void {
    for (const v of values) {
      if (isText(v)) this.withText.delete(taskId);
      else this.byNumber.get(Number(v))?.delete(taskId);
    }
  }

  candidates(wanted: string): Set<number> {
    const byValue = isNumeric(wanted) ? this.byNumber.get(Number(wanted)) : undefined;
    return new Set([...(byValue ?? []), ...this.withText]);
  }
}

function isNumeric(s: string): boolean {
  return s.trim() !== '' && Number.isFinite(Number(s));
}

/** A value a one-value filter matches by prefix; every other value matches by number. The index sorts them the same way. */
function isText(v: ComparableValue): v is string {
  return typeof v === 'string' && !isNumeric(v);
}

function equals(v: ComparableValue, target: string): boolean {
  if (!isText(v)) return isNumeric(target) && Number(v) === Number(target);
  return v.toLowerCase() === target.toLowerCase();
}

function compare(v: ComparableValue, target: string): number {
  if ((typeof v === 'number' || isNumeric(v)) && isNumeric(target)) return Number(v) - Number(target);
  const a = String(v);
  return a < target ? -1 : a > target ? 1 : 0;
}

/** The values a filter compares with: numbers, strings, ids inside catalog / choice / person / link values. */
export function comparableValues(field: PyrusField | undefined): ComparableValue[] {
  if (!field || field.value === undefined || field.value === null || field.value === '') return [];
  const value = field.value as unknown;
  if (typeof value === 'number' || typeof value === 'string') return [value];
  if (typeof value === 'boolean') return [String(value)];
  if (Array.isArray(value)) return value.length > 0 ? value.map((v) => (typeof v === 'object' && v ? JSON.stringify(v) : String(v))) : [];
  const obj = value as Record<string, unknown>;
  for (const key of ['item_ids', 'choice_ids', 'task_ids']) {
    if (Array.isArray(obj[key])) return (obj[key] as number[]).filter((x) => x !== undefined);
  }
  for (const key of ['item_id', 'choice_id', 'task_id', 'id']) {
    if (typeof obj[key] === 'number') return [obj[key]];
  }
  if (Array.isArray(obj.fields)) return obj.fields.length > 0 ? ['*'] : [];
  return [JSON.stringify(obj)];
}

/** Finds a field by id at the top level or inside titles. */
export function findFieldById(fields: PyrusField[] | undefined, id: number): PyrusField | undefined {
  for (const field of fields ?? []) {
    if (field.id === id) return field;
    const inner = (field.value as { fields?: PyrusField[] } | undefined)?.fields;
    if (field.type === 'title' && Array.isArray(inner)) {
      const found = findFieldById(inner, id);
      if (found) return found;
    }
  }
  return undefined;
}

export interface RegisterQuery {
  [key: string]: unknown;
}

function listOf(raw: unknown): string[] {
  if (raw === undefined || raw === null || raw === '') return [];
  if (Array.isArray(raw)) return raw.map(String);
  return String(raw)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** What a task's field compares as in a register filter. */
export type FieldValues = (task: PyrusTask, fieldId: number) => ComparableValue[];

const readFieldValues: FieldValues = (task, fieldId) => comparableValues(findFieldById(task.fields, fieldId));

/** When a task was last changed, as a register's `modified_after` / `modified_before` compare it. */
export type ModifiedAt = (task: PyrusTask) => string | undefined;

const readModifiedAt: ModifiedAt = (task) => task.last_modified_date ?? task.create_date;

/**
 * A `modified_after` / `modified_before` bound as milliseconds; undefined when absent. Both are strict (Pyrus does not
 * say whether they include their bound; a strict bound is the one a caller must allow for).
 */
function timeBound(raw: unknown, name: string): number | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  const at = Date.parse(String(raw));
  if (Number.isNaN(at)) throw new EmulatorHttpError(400, 'validation_error', `${name} must be a date and time, e.g. 2026-12-01T10:00:00Z`);
  return at;
}

/**
 * Applies the register parameters Pyrus documents that the emulator supports; returns tasks without comments.
 * `modifiedAt` says when each task last changed (the emulator's store knows it even for a task seeded without
 * `last_modified_date`).
 */
export function filterRegister(
  tasks: PyrusTask[],
  query: RegisterQuery,
  fieldValues: FieldValues = readFieldValues,
  modifiedAt: ModifiedAt = readModifiedAt,
): PyrusTask[] {
  const modifiedAfter = timeBound(query.modified_after, 'modified_after');
  const modifiedBefore = timeBound(query.modified_before, 'modified_before');
  const includeArchived = ['y', 'true', '1'].includes(String(query.include_archived ?? '').toLowerCase());
  const steps = listOf(query.steps).map(Number);
  const taskIds = listOf(query.task_ids).map(Number);
  const fieldIds = listOf(query.field_ids).map(Number);
  const filters: { id: number | 'task'; cond: RegisterCondition }[] = [];
  for (const [key, raw] of Object.entries(query)) {
    const match = /^fld(\d+)$/.exec(key);
    if (match) filters.push({ id: Number(match[1]), cond: parseRegisterFilter(raw) });
    if (key === 'id') filters.push({ id: 'task', cond: parseRegisterFilter(raw) });
  }
  let result = tasks.filter((task) => {
    if (!includeArchived && task.close_date) return false;
    if (steps.length > 0 && !steps.includes(task.current_step ?? 0)) return false;
    if (taskIds.length > 0 && !taskIds.includes(task.id)) return false;
    if (modifiedAfter !== undefined || modifiedBefore !== undefined) {
      const at = Date.parse(modifiedAt(task) ?? '');
      if (Number.isNaN(at)) return false;
      if (modifiedAfter !== undefined && !(at > modifiedAfter)) return false;
      if (modifiedBefore !== undefined && !(at < modifiedBefore)) return false;
    }
    return filters.every(({ id, cond }) => cond(id === 'task' ? [task.id] : fieldValues(task, id)));
  });
  result = result.sort((a, b) => a.id - b.id);
  const count = Number(query.item_count);
  if (Number.isFinite(count) && count > 0) result = result.slice(0, Math.min(count, 20000));
  return result.map((task) => {
    const { comments: _comments, ...header } = task;
    if (fieldIds.length === 0) return header;
    return { ...header, fields: (header.fields ?? []).filter((f) => fieldIds.includes(f.id)) };
  });
}
