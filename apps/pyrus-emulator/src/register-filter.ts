import type { PyrusField, PyrusTask } from '@app/pyrus';

/**
 * Form register filters (`fld{id}` keys, protocol section 6): equals (prefix for text), "gt{v}", "lt{v}",
 * "gt{a},lt{b}", in-list "a,b,c", "empty", "*". gt/lt are strict here (Pyrus's inclusivity is unconfirmed).
 */
export type RegisterCondition = (values: ComparableValue[]) => boolean;
export type ComparableValue = string | number;

export function parseRegisterFilter(raw: unknown): RegisterCondition {
  const text = Array.isArray(raw) ? raw.map(String).join(',') : String(raw).trim();
  if (text === 'empty') return (values) => values.length === 0;
  if (text === '*') return (values) => values.length > 0;
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p !== '');
  const bounds = parts.filter((p) => /^(gt|lt)/.test(p));
  if (bounds.length > 0 && bounds.length === parts.length) {
    const checks = bounds.map((p) => {
      const target = p.slice(2);
      const sign = p.startsWith('gt') ? 1 : -1;
      return (v: ComparableValue) => sign * compare(v, target) > 0;
    });
    return (values) => values.some((v) => checks.every((check) => check(v)));
  }
  if (parts.length > 1) {
    return (values) => values.some((v) => parts.some((p) => equals(v, p)));
  }
  // Parsed once here rather than per task: a register search tests every task of the form.
  const wanted = parts[0] ?? '';
  const wantedLower = wanted.toLowerCase();
  const wantedNumber = isNumeric(wanted) ? Number(wanted) : undefined;
  return (values) =>
    values.some((v) => {
      if (typeof v === 'string' && !isNumeric(v)) return v.toLowerCase().startsWith(wantedLower);
      return wantedNumber !== undefined && Number(v) === wantedNumber;
    });
}

function isNumeric(s: string): boolean {
  return s.trim() !== '' && Number.isFinite(Number(s));
}

function equals(v: ComparableValue, target: string): boolean {
  if (typeof v === 'number' || isNumeric(String(v))) return isNumeric(target) && Number(v) === Number(target);
  return String(v).toLowerCase() === target.toLowerCase();
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
    if (typeof obj[key] === 'number') return [obj[key] as number];
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
  return String(raw).split(',').map((s) => s.trim()).filter(Boolean);
}

/** What a task's field compares as in a register filter. */
export type FieldValues = (task: PyrusTask, fieldId: number) => ComparableValue[];

const readFieldValues: FieldValues = (task, fieldId) => comparableValues(findFieldById(task.fields, fieldId));

/** Applies the register parameters Pyrus documents that the emulator supports; returns tasks without comments. */
export function filterRegister(tasks: PyrusTask[], query: RegisterQuery, fieldValues: FieldValues = readFieldValues): PyrusTask[] {
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
    return filters.every(({ id, cond }) => cond(id === 'task' ? [task.id] : fieldValues(task, id)));
  });
  result = result.sort((a, b) => a.id - b.id);
  const count = Number(query.item_count);
  if (Number.isFinite(count) && count > 0) result = result.slice(0, Math.min(count, 20000));
  return result.map((task) => {
    const { comments: _comments, ...header } = task;
    if (fieldIds.length === 0) return header as PyrusTask;
    return { ...header, fields: (header.fields ?? []).filter((f) => fieldIds.includes(f.id)) } as PyrusTask;
  });
}
