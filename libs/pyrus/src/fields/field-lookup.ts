import { PyrusField } from '../pyrus.types';

/**
 * Which field to find. `code` is what bots should use (it survives renames and id changes); an object may carry
 * several identifiers and they are tried in the order code, id, name. A number is an id; a string is a code first,
 * then a name. Names match case-insensitively after trimming.
 */
export type FieldSelector =
  | { code: string; id?: number; name?: string }
  | { id: number; code?: string; name?: string }
  | { name: string; code?: string; id?: number }
  | string
  | number;

/** A task, a form definition (`GET /forms/{id}`), or a bare field list. */
export type FieldSource = { fields?: readonly PyrusField[] } | readonly PyrusField[];

/** A field and where it sits: ids of the enclosing title / table / row, and of the nearest container of any kind. */
export interface FoundField {
  field: PyrusField;
  parentId?: number;
  titleId?: number;
  tableId?: number;
  rowId?: number;
}

type Where = Omit<FoundField, 'field'>;

/** Every field, depth-first in document order, including title children, table cells (once per row) and fields
 * nested in a multiple choice; for a form definition also `info.fields` of titles and `info.columns` of tables. */
export function* walkFields(source: FieldSource | undefined): Generator<FoundField> {
  const fields = Array.isArray(source) ? source : (source as { fields?: readonly PyrusField[] } | undefined)?.fields;
  yield* walk(fields, {});
}

function* walk(fields: readonly unknown[] | undefined, where: Where): Generator<FoundField> {
  if (!Array.isArray(fields)) return;
  for (const field of fields) {
    if (!isField(field)) continue;
    yield { field, ...where };
    yield* walkChildren(field, where);
  }
}

function* walkChildren(field: PyrusField, where: Where): Generator<FoundField> {
  const value = field.value as Record<string, unknown> | unknown[] | undefined;
  const info = isObject(field.info) ? field.info : undefined;
  const inside: Where = { ...where, parentId: field.id };
  if (field.type === 'title') {
    const inTitle = { ...inside, titleId: field.id };
    if (isObject(value)) yield* walk(value.fields as unknown[], inTitle);
    yield* walk(info?.fields as unknown[], inTitle);
  } else if (field.type === 'table') {
    const inTable = { ...inside, tableId: field.id };
    if (Array.isArray(value)) {
      for (const row of value) {
        if (!isObject(row)) continue;
        const rowId = typeof row.row_id === 'number' ? row.row_id : undefined;
        yield* walk(row.cells as unknown[], { ...inTable, rowId });
      }
    }
    yield* walk(info?.columns as unknown[], inTable);
  } else if (field.type === 'multiple_choice' && isObject(value)) {
    yield* walk(value.fields as unknown[], inside);
  }
}

/** The first field matching the selector, or undefined. */
export function findField(source: FieldSource | undefined, selector: FieldSelector): FoundField | undefined {
  return findFields(source, selector)[0];
}

/** Every field matching the selector (a table column once per row), using the first identifier that matches any. */
export function findFields(source: FieldSource | undefined, selector: FieldSelector): FoundField[] {
  const all = [...walkFields(source)];
  for (const match of matchers(selector)) {
    const found = all.filter((f) => match(f.field));
    if (found.length > 0) return found;
  }
  return [];
}

/** Like findField, but a missing field is an error naming the selector: for fields a bot cannot work without. */
export function requireField(source: FieldSource | undefined, selector: FieldSelector): FoundField {
  const found = findField(source, selector);
  if (!found) throw new Error(`Pyrus field ${describeSelector(selector)} not found`);
  return found;
}

/** The field's code: on a task it is `code`, in a form definition it sits in `info.code`. */
export function fieldCode(field: PyrusField): string | undefined {
  if (typeof field.code === 'string') return field.code;
  const code = isObject(field.info) ? field.info.code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** "field 8 (code amount) "Сумма"" for error messages. */
export function describeField(field: PyrusField): string {
  const parts = [`field ${field.id}`];
  const code = fieldCode(field);
  if (code !== undefined) parts.push(`(code ${code})`);
  if (field.name !== undefined) parts.push(JSON.stringify(field.name));
  return parts.join(' ');
}

function matchers(selector: FieldSelector): ((field: PyrusField) => boolean)[] {
  if (typeof selector === 'number') return [byId(selector)];
  if (typeof selector === 'string') return [byCode(selector), byName(selector)];
  const out: ((field: PyrusField) => boolean)[] = [];
  if (selector.code !== undefined) out.push(byCode(selector.code));
  if (selector.id !== undefined) out.push(byId(selector.id));
  if (selector.name !== undefined) out.push(byName(selector.name));
  return out;
}

const byId = (id: number) => (field: PyrusField) => field.id === id;
const byCode = (code: string) => (field: PyrusField) => fieldCode(field) === code;
const byName = (name: string) => {
  const wanted = normalizeName(name);
  return (field: PyrusField) => typeof field.name === 'string' && normalizeName(field.name) === wanted;
};

const normalizeName = (name: string) => name.trim().toLowerCase();

const describeSelector = (selector: FieldSelector) => JSON.stringify(selector);

function isField(value: unknown): value is PyrusField {
  return isObject(value) && typeof value.id === 'number';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
