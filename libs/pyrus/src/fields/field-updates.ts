import { FieldUpdate, PersonRef, PyrusField } from '../pyrus.types';
import { FoundField, describeField, fieldCode } from './field-lookup';
import { FlagValue } from './field-values';

/** One `field_updates` item; `duration` (minutes) only goes with due_date / due_date_time. */
export interface FieldUpdateEntry extends FieldUpdate {
  duration?: number;
}

/** Types Pyrus will not write (docs; the official SDKs refuse them too). */
export const READ_ONLY_FIELD_TYPES: readonly string[] = ['step', 'status', 'creation_date', 'note', 'project'];

/** A file for a file field: a guid from `/files/upload`, or the same with `root_id` to add a new version. */
export type NewFileRef = string | { guid: string; root_id?: number };

/** Child updates of a title, table row or multiple choice: a list, or a builder that has not been built yet. */
export type NestedUpdates = readonly FieldUpdate[] | FieldUpdatesBuilder;

/** A table row to write: cells of a row (a new row_id adds the row), or a row to delete. */
export type TableRowUpdate = { rowId: number; cells: NestedUpdates; position?: number } | { rowId: number; delete: true };

/** The wire form of TableRowUpdate. */
export type TableRowWrite = { row_id: number; cells: FieldUpdate[]; position?: number } | { row_id: number; delete: true };

export interface FieldTarget {
  id?: number;
  code?: string;
  name?: string;
  /** The field's type when the caller knows it: lets the builder refuse read-only fields and mismatched writes. */
  type?: string;
}

/**
 * Builds `field_updates`:
 *   fieldUpdates().byCode('amount').money(1500).byId(5).text('x').build()
 * Each byX / field() picks the field, the next call gives its value. Values are checked before anything is sent.
 */
export function fieldUpdates(): FieldUpdatesBuilder {
  return new FieldUpdatesBuilder();
}

export class FieldUpdatesBuilder {
  private readonly entries: FieldUpdateEntry[] = [];

  byId(id: number, type?: string): FieldWriter {
    return this.target({ id, type });
  }

  byCode(code: string, type?: string): FieldWriter {
    return this.target({ code, type });
  }

  byName(name: string, type?: string): FieldWriter {
    return this.target({ name, type });
  }

  /** A field read from a task or form (e.g. findField's result): addressed by code when it has one, else by id. */
  field(field: PyrusField | FoundField): FieldWriter {
    const f = typeof (field as PyrusField).id === 'number' ? (field as PyrusField) : (field as FoundField).field;
    const code = fieldCode(f);
    return this.target(code !== undefined ? { code, type: f.type, name: f.name } : { id: f.id, type: f.type, name: f.name });
  }

  build(): FieldUpdateEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }

  private target(target: FieldTarget): FieldWriter {
    if (target.type !== undefined && READ_ONLY_FIELD_TYPES.includes(target.type)) {
      throw new Error(`Pyrus ${describeTarget(target)} is of type ${target.type}, which is read-only`);
    }
    return new FieldWriter(target, (entry) => {
      this.entries.push(entry);
      return this;
    });
  }
}

export class FieldWriter {
  constructor(
    private readonly target: FieldTarget,
    private readonly add: (entry: FieldUpdateEntry) => FieldUpdatesBuilder,
  ) {}

  /** text, email, phone */
  text(value: string): FieldUpdatesBuilder {
    return this.write(['text', 'email', 'phone'], check(value, typeof value === 'string', 'a string', this.target));
  }

  number(value: number): FieldUpdatesBuilder {
    return this.write(['number', 'money'], finite(value, this.target));
  }

  money(value: number): FieldUpdatesBuilder {
    return this.write(['money', 'number'], finite(value, this.target));
  }

  /** 'YYYY-MM-DD', or a Date (its UTC day). */
  date(value: string | Date): FieldUpdatesBuilder {
    return this.write(['date'], toDate(value, this.target));
  }

  /** 'HH:mm' */
  time(value: string): FieldUpdatesBuilder {
    return this.write(['time'], check(value, /^\d{2}:\d{2}$/.test(value), 'HH:mm', this.target));
  }

  dueDate(value: string | Date, durationMinutes?: number): FieldUpdatesBuilder {
    return this.write(['due_date'], toDate(value, this.target), durationMinutes);
  }

  /** 'YYYY-MM-DDThh:mm:ssZ', or a Date (sent without milliseconds, as the SDKs do). */
  dueDateTime(value: string | Date, durationMinutes?: number): FieldUpdatesBuilder {
    const s = value instanceof Date ? `${validDate(value, this.target).toISOString().split('.')[0]}Z` : value;
    const ok = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(s);
    return this.write(['due_date_time'], check(s, ok, 'YYYY-MM-DDThh:mm:ssZ', this.target), durationMinutes);
  }

  checkmark(checked: boolean): FieldUpdatesBuilder {
    return this.write(['checkmark'], checked ? 'checked' : 'unchecked');
  }

  flag(value: FlagValue): FieldUpdatesBuilder {
    const ok = value === 'none' || value === 'checked' || value === 'unchecked';
    return this.write(['flag'], check(value, ok, '"none", "checked" or "unchecked"', this.target));
  }

  catalogItems(itemIds: readonly number[]): FieldUpdatesBuilder {
    return this.write(['catalog'], { item_ids: intIds(itemIds, this.target) });
  }

  /** Items by their name (the value of the catalog's first column). */
  catalogNames(itemNames: readonly string[]): FieldUpdatesBuilder {
    return this.write(['catalog'], { item_names: [...itemNames] });
  }

  /** A number is a person id, a string an email. */
  person(ref: number | string | PersonRef): FieldUpdatesBuilder {
    const value: PersonRef = typeof ref === 'number' ? { id: ref } : typeof ref === 'string' ? { email: ref } : { ...ref };
    const ok = Number.isInteger(value.id) || (typeof value.email === 'string' && value.email.includes('@'));
    // author: the C# SDK writes it, the Python one refuses; Pyrus decides.
    return this.write(['person', 'author'], check(value, ok, 'a person id or email', this.target));
  }

  /** Choices by id, with the updates of fields nested in the choice if any. */
  multipleChoice(choiceIds: readonly number[], fields?: NestedUpdates): FieldUpdatesBuilder {
    const value: { choice_ids: number[]; fields?: FieldUpdate[] } = { choice_ids: intIds(choiceIds, this.target) };
    if (fields !== undefined) value.fields = nested(fields);
    return this.write(['multiple_choice'], value);
  }

  formLink(taskIds: readonly number[]): FieldUpdatesBuilder {
    return this.write(['form_link'], { task_ids: intIds(taskIds, this.target) });
  }

  /** Rows to change, add or delete; rows not listed are left as they are. */
  table(rows: readonly TableRowUpdate[]): FieldUpdatesBuilder {
    const value: TableRowWrite[] = rows.map((row) => {
      if ('delete' in row) return { row_id: row.rowId, delete: true };
      const out: TableRowWrite = { row_id: row.rowId, cells: nested(row.cells) };
      if (row.position !== undefined) out.position = row.position;
      return out;
    });
    return this.write(['table'], value);
  }

  /** Children of a title field. */
  title(fields: NestedUpdates): FieldUpdatesBuilder {
    return this.write(['title'], { fields: nested(fields) });
  }

  files(files: readonly NewFileRef[]): FieldUpdatesBuilder {
    return this.write(
      ['file'],
      files.map((f) => (typeof f === 'string' ? { guid: f } : { ...f })),
    );
  }

  /** Any value as is, for types without a helper (including unknown ones); still refuses read-only types. */
  value(value: unknown): FieldUpdatesBuilder {
    return this.add({ ...identity(this.target), value });
  }

  private write(types: readonly string[], value: unknown, duration?: number): FieldUpdatesBuilder {
    const { type } = this.target;
    if (type !== undefined && !types.includes(type)) {
      throw new Error(`Pyrus ${describeTarget(this.target)} is of type ${type}; cannot write it as ${types[0]}`);
    }
    const entry: FieldUpdateEntry = { ...identity(this.target), value };
    if (duration !== undefined) entry.duration = finite(duration, this.target);
    return this.add(entry);
  }
}

/** Only one identifier goes on the wire; `type` stays off it (optional for Pyrus, omitted by the Python SDK). */
function identity(target: FieldTarget): Pick<FieldUpdate, 'id' | 'code' | 'name'> {
  if (target.code !== undefined) return { code: target.code };
  if (target.id !== undefined) return { id: target.id };
  return { name: target.name };
}

function describeTarget(target: FieldTarget): string {
  if (target.id !== undefined) return describeField({ id: target.id, code: target.code, name: target.name });
  return target.code !== undefined ? `field (code ${target.code})` : `field ${JSON.stringify(target.name)}`;
}

function nested(updates: NestedUpdates): FieldUpdate[] {
  return updates instanceof FieldUpdatesBuilder ? updates.build() : updates.map((u) => ({ ...u }));
}

function check<T>(value: T, ok: boolean, expected: string, target: FieldTarget): T {
  const got = typeof value === 'number' ? String(value) : JSON.stringify(value); // NaN would print as null
  if (!ok) throw new Error(`Pyrus ${describeTarget(target)}: expected ${expected}, got ${got}`);
  return value;
}

function finite(value: number, target: FieldTarget): number {
  return check(value, typeof value === 'number' && Number.isFinite(value), 'a finite number', target);
}

function intIds(ids: readonly number[], target: FieldTarget): number[] {
  return check(
    [...ids],
    ids.every((id) => Number.isInteger(id)),
    'integer ids',
    target,
  );
}

function validDate(value: Date, target: FieldTarget): Date {
  return check(value, !Number.isNaN(value.getTime()), 'a valid Date', target);
}

function toDate(value: string | Date, target: FieldTarget): string {
  const s = value instanceof Date ? validDate(value, target).toISOString().slice(0, 10) : value;
  return check(s, /^\d{4}-\d{2}-\d{2}$/.test(s), 'YYYY-MM-DD', target);
}
