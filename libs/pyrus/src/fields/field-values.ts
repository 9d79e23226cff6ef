import { PyrusField } from '../pyrus.types';
import { describeField, fieldCode } from './field-lookup';

/** Field values as plain data (protocol section 5). Pyrus omits empty values, so every reader may give undefined. */

export interface DueDateValue {
  date: string;
  /** Minutes, from the field's own `duration` key. */
  duration?: number;
}

export interface DueDateTimeValue {
  datetime: string;
  duration?: number;
}

export type FlagValue = 'none' | 'checked' | 'unchecked';

export interface CatalogValue {
  itemIds: number[];
  headers: string[];
  /** One array of column values per selected item, in the order of `headers`. */
  rows: string[][];
}

export interface PersonValue {
  id: number;
  /** First and last name joined; a role carries its name in last_name. */
  name: string;
  email?: string;
  type?: string;
}

export interface MultipleChoiceValue {
  choiceIds: number[];
  choiceNames: string[];
}

/** Child values keyed by code, else name, else String(id); a key already taken falls back to String(id). */
export type FieldValues = Record<string, unknown>;

export interface TitleValue {
  checked?: boolean;
  fields: FieldValues;
}

export interface TableRowValue {
  rowId: number;
  cells: FieldValues;
  position?: number;
  deleted?: true;
}

export interface FileValue {
  id: number;
  name: string;
  size?: number;
  url?: string;
}

export interface FormLinkValue {
  taskIds: number[];
  subject?: string;
}

export interface ProjectValue {
  projects?: { id: number; name?: string; parent?: unknown }[];
  [key: string]: unknown;
}

/** What each documented type reads into; any other type reads as its raw value. */
export interface FieldValueMap {
  text: string;
  email: string;
  phone: string;
  money: number;
  number: number;
  date: string;
  time: string;
  due_date: DueDateValue;
  due_date_time: DueDateTimeValue;
  checkmark: boolean;
  flag: FlagValue;
  catalog: CatalogValue;
  person: PersonValue;
  author: PersonValue;
  multiple_choice: MultipleChoiceValue;
  title: TitleValue;
  table: TableRowValue[];
  file: FileValue[];
  form_link: FormLinkValue;
  status: string;
  step: number;
  creation_date: string;
  note: string;
  project: ProjectValue;
}

export type KnownFieldType = keyof FieldValueMap;

type Reader<T> = (value: unknown, field: PyrusField) => T;

const readers: { [K in KnownFieldType]: Reader<FieldValueMap[K]> } = {
  text: asString,
  email: asString,
  phone: asString,
  money: asNumber,
  number: asNumber,
  date: (v, f) => asDate(v, f),
  time: (v, f) => {
    const s = asString(v, f);
    // Drop seconds if a tenant ever sends them; the documented form is HH:mm.
    return /^\d{2}:\d{2}:\d{2}/.test(s) ? s.slice(0, 5) : s;
  },
  due_date: (v, f) => withDuration<DueDateValue>({ date: asDate(v, f) }, f),
  due_date_time: (v, f) => withDuration<DueDateTimeValue>({ datetime: asString(v, f) }, f),
  checkmark: (v, f) => {
    if (v === 'checked' || v === true) return true;
    if (v === 'unchecked' || v === false) return false;
    return shapeError(f, '"checked" or "unchecked"', v);
  },
  flag: (v, f) => (v === 'none' || v === 'checked' || v === 'unchecked' ? v : shapeError(f, '"none", "checked" or "unchecked"', v)),
  catalog: (v, f) => {
    const o = asObject(v, f);
    const rows = Array.isArray(o.rows) ? (o.rows as string[][]) : Array.isArray(o.values) ? [o.values as string[]] : [];
    return { itemIds: ids(o.item_ids, o.item_id), headers: Array.isArray(o.headers) ? (o.headers as string[]) : [], rows };
  },
  person: asPerson,
  author: asPerson,
  multiple_choice: (v, f) => {
    const o = asObject(v, f);
    return {
      choiceIds: ids(o.choice_ids, o.choice_id),
      choiceNames: Array.isArray(o.choice_names) ? (o.choice_names as string[]) : [],
    };
  },
  title: (v, f) => {
    const o = asObject(v, f);
    const out: TitleValue = { fields: readChildren(o.fields) };
    if (o.checkmark !== undefined) out.checked = o.checkmark === 'checked' || o.checkmark === true;
    return out;
  },
  table: (v, f) =>
    asArray(v, f).map((row) => {
      const r = asObject(row, f);
      if (typeof r.row_id !== 'number') return shapeError(f, 'rows with a numeric row_id', r.row_id);
      const out: TableRowValue = { rowId: r.row_id, cells: readChildren(r.cells) };
      if (typeof r.position === 'number') out.position = r.position;
      if (r.deleted === true) out.deleted = true;
      return out;
    }),
  file: (v, f) =>
    asArray(v, f).map((file) => {
      const o = asObject(file, f);
      if (typeof o.id !== 'number') return shapeError(f, 'files with a numeric id', o.id);
      const out: FileValue = { id: o.id, name: typeof o.name === 'string' ? o.name : '' };
      if (typeof o.size === 'number') out.size = o.size;
      if (typeof o.url === 'string') out.url = o.url;
      return out;
    }),
  form_link: (v, f) => {
    const o = asObject(v, f);
    const out: FormLinkValue = { taskIds: ids(o.task_ids, o.task_id) };
    if (typeof o.subject === 'string') out.subject = o.subject;
    return out;
  },
  status: asString,
  step: asNumber,
  creation_date: asString,
  note: asString,
  project: (v, f) => asObject(v, f),
};

export function isKnownFieldType(type: unknown): type is KnownFieldType {
  return typeof type === 'string' && Object.prototype.hasOwnProperty.call(readers, type);
}

/**
 * A field's value as plain data; undefined when the field or its value is missing. Unknown types (and fields
 * without a type) give the raw value untouched. A known type holding a value of the wrong shape throws an Error
 * naming the field, rather than handing a bot something it would misread.
 */
export function readFieldValue<T extends KnownFieldType>(field: PyrusField & { type: T }): FieldValueMap[T] | undefined;
export function readFieldValue(field: PyrusField | undefined): unknown;
export function readFieldValue(field: PyrusField | undefined): unknown {
  if (!field || field.value === undefined || field.value === null) return undefined;
  return isKnownFieldType(field.type) ? readers[field.type](field.value, field) : field.value;
}

/**
 * Reads the field as one of the given types. A field of another (stated) type is an error naming it: a form whose
 * "amount" turned into a text field should fail loudly, not read as empty. A field without `type` is read by shape.
 */
function readAs<K extends KnownFieldType>(field: PyrusField | undefined, types: readonly K[]): FieldValueMap[K] | undefined {
  if (!field) return undefined;
  if (field.type !== undefined && !(types as readonly string[]).includes(field.type)) {
    throw new Error(`Pyrus ${describeField(field)} is of type ${field.type}, expected ${types.join(' or ')}`);
  }
  if (field.value === undefined || field.value === null) return undefined;
  return readers[types.find((t) => t === field.type) ?? types[0]](field.value, field);
}

export const readText = (field: PyrusField | undefined) => readAs(field, ['text', 'email', 'phone']);
export const readNumber = (field: PyrusField | undefined) => readAs(field, ['number', 'money']);
export const readMoney = (field: PyrusField | undefined) => readAs(field, ['money', 'number']);
export const readDate = (field: PyrusField | undefined) => readAs(field, ['date']);
export const readTime = (field: PyrusField | undefined) => readAs(field, ['time']);
export const readDueDate = (field: PyrusField | undefined) => readAs(field, ['due_date']);
export const readDueDateTime = (field: PyrusField | undefined) => readAs(field, ['due_date_time']);
export const readCheckmark = (field: PyrusField | undefined) => readAs(field, ['checkmark']);
export const readFlag = (field: PyrusField | undefined) => readAs(field, ['flag']);
export const readCatalog = (field: PyrusField | undefined) => readAs(field, ['catalog']);
export const readPerson = (field: PyrusField | undefined) => readAs(field, ['person', 'author']);
export const readMultipleChoice = (field: PyrusField | undefined) => readAs(field, ['multiple_choice']);
export const readTitle = (field: PyrusField | undefined) => readAs(field, ['title']);
export const readTable = (field: PyrusField | undefined) => readAs(field, ['table']);
export const readFiles = (field: PyrusField | undefined) => readAs(field, ['file']);
export const readFormLink = (field: PyrusField | undefined) => readAs(field, ['form_link']);
export const readStatus = (field: PyrusField | undefined) => readAs(field, ['status']);
export const readStep = (field: PyrusField | undefined) => readAs(field, ['step']);
export const readCreationDate = (field: PyrusField | undefined) => readAs(field, ['creation_date']);
export const readNote = (field: PyrusField | undefined) => readAs(field, ['note']);
export const readProject = (field: PyrusField | undefined) => readAs(field, ['project']);

/** The key a child value gets in a title's or a table row's record. */
export function fieldKey(field: PyrusField): string {
  return fieldCode(field) ?? (typeof field.name === 'string' && field.name !== '' ? field.name : String(field.id));
}

function readChildren(children: unknown): FieldValues {
  const out: FieldValues = {};
  if (!Array.isArray(children)) return out;
  for (const child of children as PyrusField[]) {
    const value = readFieldValue(child);
    if (value === undefined) continue;
    const key = fieldKey(child);
    out[key in out ? String(child.id) : key] = value;
  }
  return out;
}

function asPerson(v: unknown, f: PyrusField): PersonValue {
  const o = asObject(v, f);
  if (typeof o.id !== 'number') return shapeError(f, 'a person with a numeric id', o.id);
  const name = [o.first_name, o.last_name].filter((s) => typeof s === 'string' && s.trim() !== '').join(' ');
  const out: PersonValue = { id: o.id, name: name.trim() };
  if (typeof o.email === 'string') out.email = o.email;
  if (typeof o.type === 'string') out.type = o.type;
  return out;
}

function asDate(v: unknown, f: PyrusField): string {
  const s = asString(v, f);
  // Keep the date part if a full timestamp ever arrives; the documented form is YYYY-MM-DD.
  return /^\d{4}-\d{2}-\d{2}T/.test(s) ? s.slice(0, 10) : s;
}

function withDuration<T extends { duration?: number }>(value: T, f: PyrusField): T {
  if (typeof f.duration === 'number') value.duration = f.duration;
  return value;
}

/** Legacy single ids (`item_id`, `choice_id`, `task_id`) count only when the plural array is absent. */
function ids(many: unknown, one: unknown): number[] {
  if (Array.isArray(many)) return many as number[];
  return typeof one === 'number' ? [one] : [];
}

function asString(v: unknown, f: PyrusField): string {
  return typeof v === 'string' ? v : shapeError(f, 'a string', v);
}

function asNumber(v: unknown, f: PyrusField): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : shapeError(f, 'a number', v);
}

function asObject(v: unknown, f: PyrusField): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : shapeError(f, 'an object', v);
}

function asArray(v: unknown, f: PyrusField): unknown[] {
  return Array.isArray(v) ? v : shapeError(f, 'an array', v);
}

function shapeError(f: PyrusField, expected: string, got: unknown): never {
  const seen = Array.isArray(got) ? 'an array' : got === null ? 'null' : typeof got;
  throw new Error(`Pyrus ${describeField(f)} (${f.type ?? 'no type'}): expected ${expected}, got ${seen}`);
}
