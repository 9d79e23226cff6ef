import type { PyrusApproval, PyrusField, PyrusPerson, PyrusTask } from '@app/pyrus';
import { EmulatorBot, EmulatorHttpError } from './emulator.types';
import { ComparableValue, comparableValues, FieldValueIndex, findFieldById } from './register-filter';

type Json = Record<string, unknown>;
type CatalogRow = { item_id: number; values: string[]; deleted?: boolean };

export function nowIso(): string {
  return new Date().toISOString().split('.')[0] + 'Z';
}

export function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

export interface CommentOutcome {
  task: PyrusTask;
  comment: Json;
  /** Set when the comment moved the task to another step (forward or back). */
  movedToStep?: number;
}

/** Tasks, forms and catalogs in memory, and the rules a comment follows when it changes a task. */
export class TaskStore {
  private readonly tasks = new Map<number, PyrusTask>();
  /** Task ids by form, so a register search reads only its form's tasks. */
  private readonly taskIdsByForm = new Map<number, Set<number>>();
  private readonly forms = new Map<number, Json>();
  private readonly catalogs = new Map<number, Json>();
  private nextCommentId = 1_000_000;
  /** What register filters compare, per stored task and field: a stored task is replaced, never changed in place. */
  private readonly registerValues = new WeakMap<PyrusTask, Map<number, ComparableValue[]>>();
  /** Per form, per field: built by the first one-value register search on the field, then kept up to date. */
  private readonly valueIndexes = new Map<number, Map<number, FieldValueIndex>>();
  /**
   * When each stored version was stored, for the register's `modified_after`: a task seeded or replaced through the
   * emulator's own API changes now, whatever `last_modified_date` it carries, as any change in Pyrus does.
   */
  private readonly storedAt = new WeakMap<PyrusTask, string>();

  /** Adds or replaces a task (a bare task or `{task}`); the stored copy is independent of the argument. */
  putTask(input: PyrusTask | { task: PyrusTask }): PyrusTask {
    const task = clone('task' in input && typeof input.task === 'object' ? (input as { task: PyrusTask }).task : (input as PyrusTask));
    if (!Number.isSafeInteger(task.id)) throw new Error('A task needs a numeric "id"');
    task.comments = task.comments ?? [];
    for (const c of task.comments) if (c.id >= this.nextCommentId) this.nextCommentId = c.id + 1;
    this.keep(task);
    return clone(task);
  }

  /** Stores a new version of a task, and keeps the register's lookups (by form, by field value) in step with it. */
  private keep(task: PyrusTask): void {
    const replaced = this.tasks.get(task.id);
    if (replaced && typeof replaced.form_id === 'number') {
      this.taskIdsByForm.get(replaced.form_id)?.delete(task.id);
      for (const [fieldId, index] of this.valueIndexes.get(replaced.form_id) ?? [])
        index.remove(task.id, this.fieldValues(replaced, fieldId));
    }
    this.tasks.set(task.id, task);
    this.storedAt.set(task, new Date().toISOString());
    if (typeof task.form_id === 'number') {
      if (!this.taskIdsByForm.has(task.form_id)) this.taskIdsByForm.set(task.form_id, new Set());
      this.taskIdsByForm.get(task.form_id)!.add(task.id);
      for (const [fieldId, index] of this.valueIndexes.get(task.form_id) ?? []) index.add(task.id, this.fieldValues(task, fieldId));
    }
  }

  putForm(form: Json): void {
    if (!Number.isSafeInteger(form.id)) throw new Error('A form needs a numeric "id"');
    this.forms.set(form.id as number, clone(form));
  }

  putCatalog(catalog: Json): void {
    const id = (catalog.catalog_id ?? catalog.id) as number;
    if (!Number.isSafeInteger(id)) throw new Error('A catalog needs a numeric "catalog_id"');
    this.catalogs.set(id, clone({ ...catalog, catalog_id: id }));
  }

  /** The live task (not a copy); undefined when missing. */
  peekTask(id: number): PyrusTask | undefined {
    return this.tasks.get(id);
  }

  getTask(id: number): PyrusTask {
    const task = this.tasks.get(id);
    if (!task) throw new EmulatorHttpError(403, 'access_denied_task', `Task ${id} not found or access denied.`);
    return clone(task);
  }

  allTasks(): PyrusTask[] {
    return [...this.tasks.values()];
  }

  getForm(id: number): Json {
    const form = this.forms.get(id);
    if (!form) throw new EmulatorHttpError(403, 'access_denied_form', `Form ${id} not found or access denied.`);
    return clone(form);
  }

  /**
   * The form's tasks, or with `narrow` (a one-value filter on a field) only those that may match it. Not cloned: the
   * caller filters first and copies only what it returns (a clone of every task per call was slow).
   */
  tasksOfForm(formId: number, narrow?: { fieldId: number; wanted: string }): PyrusTask[] {
    const ids = this.taskIdsByForm.get(formId);
    if (!this.forms.has(formId) && !ids?.size) {
      throw new EmulatorHttpError(403, 'access_denied_form', `Form ${formId} not found or access denied.`);
    }
    const wanted = narrow ? this.valueIndex(formId, narrow.fieldId).candidates(narrow.wanted) : (ids ?? []);
    return [...wanted].map((id) => this.tasks.get(id)!);
  }

  private valueIndex(formId: number, fieldId: number): FieldValueIndex {
    if (!this.valueIndexes.has(formId)) this.valueIndexes.set(formId, new Map());
    const byField = this.valueIndexes.get(formId)!;
    let index = byField.get(fieldId);
    if (!index) {
      byField.set(fieldId, (index = new FieldValueIndex()));
      for (const id of this.taskIdsByForm.get(formId) ?? []) index.add(id, this.fieldValues(this.tasks.get(id)!, fieldId));
    }
    return index;
  }

  /** When a stored task last changed: the later of its own `last_modified_date` and the time this version was stored. */
  modifiedAt(task: PyrusTask): string | undefined {
    const own = task.last_modified_date;
    const stored = this.storedAt.get(task);
    if (!own || !stored) return stored ?? own;
    return Date.parse(own) > Date.parse(stored) ? own : stored;
  }

  /** A stored task's field as a register filter compares it, worked out once per task version and field. */
  fieldValues(task: PyrusTask, fieldId: number): ComparableValue[] {
    let byField = this.registerValues.get(task);
    if (!byField) this.registerValues.set(task, (byField = new Map<number, ComparableValue[]>()));
    let values = byField.get(fieldId);
    if (!values) byField.set(fieldId, (values = comparableValues(findFieldById(task.fields, fieldId))));
    return values;
  }

  getCatalog(id: number, includeDeleted: boolean): Json {
    const catalog = this.catalogs.get(id);
    if (!catalog) throw new EmulatorHttpError(403, 'access_denied_catalog', `Catalog ${id} not found or access denied.`);
    const copy = clone(catalog);
    if (!includeDeleted && Array.isArray(copy.items)) copy.items = (copy.items as Json[]).filter((i) => !i.deleted);
    return copy;
  }

  /**
   * POST /catalogs/{id}: the request's items become the catalog, keyed by the first column; items not listed are
   * deleted. With apply=false nothing changes and the answer says what would.
   */
  syncCatalog(id: number, request: { apply?: boolean; catalog_headers?: string[]; items?: Array<{ values: string[] }> }): Json {
    const catalog = this.requireCatalog(id);
    const current = ((catalog.items as CatalogRow[] | undefined) ?? []).filter((i) => !i.deleted);
    const byKey = new Map(current.map((i) => [i.values[0], i]));
    const wanted = new Map((request.items ?? []).map((i) => [i.values[0], i.values]));
    const added: CatalogRow[] = [];
    const updated: CatalogRow[] = [];
    const deleted = current.filter((i) => !wanted.has(i.values[0]));
    let nextId = Math.max(0, ...((catalog.items as CatalogRow[] | undefined) ?? []).map((i) => i.item_id)) + 1;
    const items: CatalogRow[] = [];
    for (const [key, values] of wanted) {
      const existing = byKey.get(key);
      if (!existing) added.push({ item_id: nextId++, values });
      else if (existing.values.join('\u0000') !== values.join('\u0000')) updated.push({ item_id: existing.item_id, values });
      items.push(added.find((a) => a.values[0] === key) ?? updated.find((u) => u.values[0] === key) ?? existing!);
    }
    const headers = request.catalog_headers?.map((name) => ({ name, type: 'text' })) ?? catalog.catalog_headers;
    if (request.apply) {
      catalog.items = items;
      catalog.catalog_headers = headers;
      catalog.version = Number(catalog.version ?? 0) + 1;
    }
    return clone({ apply: Boolean(request.apply), added, updated, deleted, catalog_headers: headers });
  }

  /** POST /catalogs/{id}/diff: upsert items and delete keys (first column), leaving the rest as they are. */
  diffCatalog(id: number, request: { upsert?: Array<{ values: string[] }>; delete?: string[] }): Json {
    const remove = new Set(request.delete ?? []);
    const items = new Map<string, { values: string[] }>();
    for (const item of (this.requireCatalog(id).items as CatalogRow[] | undefined) ?? []) {
      if (!item.deleted && !remove.has(item.values[0])) items.set(item.values[0], { values: item.values });
    }
    for (const item of request.upsert ?? []) items.set(item.values[0], { values: item.values });
    // A sync to the merged list reports exactly the upserts as added/updated and the removed keys as deleted.
    return this.syncCatalog(id, { apply: true, items: [...items.values()] });
  }

  private requireCatalog(id: number): Json {
    const catalog = this.catalogs.get(id);
    if (!catalog) throw new EmulatorHttpError(403, 'access_denied_catalog', `Catalog ${id} not found or access denied.`);
    return catalog;
  }

  catalogHeaders(): Json[] {
    return [...this.catalogs.values()].map(({ items: _items, ...header }) => clone(header));
  }

  /** Tasks whose current step waits on this person (open tasks only), without comments. */
  inbox(userId: number): PyrusTask[] {
    return this.allTasks()
      .filter((t) => !t.close_date && waitingOn(t, t.current_step).some((p) => p.id === userId))
      .map(({ comments: _c, ...header }) => clone(header) as PyrusTask);
  }

  /** POST /tasks/:id/comments as `bot`: appends the comment and applies votes, field updates, approvals, actions. */
  addComment(taskId: number, bot: EmulatorBot, request: Json, people: (ref: Json) => PyrusPerson): CommentOutcome {
    const task = this.tasks.get(taskId);
    if (!task) throw new EmulatorHttpError(403, 'access_denied_task', `Task ${taskId} not found or access denied.`);
    const working = clone(task);
    const comment: Json = { id: 0, create_date: nowIso(), author: clone(bot.person) };
    for (const key of [
      'text',
      'formatted_text',
      'subject',
      'spent_minutes',
      'channel',
      'attachments',
      'added_list_ids',
      'removed_list_ids',
    ]) {
      if (request[key] !== undefined) comment[key] = clone(request[key]);
    }
    const stepBefore = working.current_step;

    if (Array.isArray(request.field_updates)) {
      comment.field_updates = (request.field_updates as Json[]).map((u) => this.applyFieldUpdate(working, u));
    }

    applyApprovalLists(working, request, people, comment);

    const choice = request.approval_choice as string | undefined;
    if (choice !== undefined) {
      if (!['approved', 'rejected', 'acknowledged', 'revoked'].includes(choice)) {
        throw new EmulatorHttpError(400, 'validation_error', `Unknown approval_choice "${choice}".`);
      }
      const steps = Array.isArray(request.approval_steps) ? (request.approval_steps as number[]) : [working.current_step ?? 1];
      comment.approval_choice = choice;
      comment.approval_step = steps[0];
      for (const step of steps) {
        for (const approval of working.approvals?.[step - 1] ?? []) {
          if (approval.person?.id === bot.userId) approval.approval_choice = choice as PyrusApproval['approval_choice'];
        }
      }
    }

    if (request.action === 'finished') {
      working.close_date = comment.create_date as string;
      comment.action = 'finished';
    } else if (request.action === 'reopened') {
      delete working.close_date;
      comment.action = 'reopened';
    }

    advanceSteps(working);
    if (working.current_step !== stepBefore && working.current_step !== undefined) {
      comment.changed_step = working.current_step;
      if (stepBefore !== undefined && working.current_step < stepBefore) comment.reset_to_step = working.current_step;
    }

    comment.id = this.nextCommentId++;
    working.comments = [...(working.comments ?? []), comment as never];
    working.last_modified_date = comment.create_date as string;
    working.last_note_id = comment.id;
    this.keep(working);
    return {
      task: clone(working),
      comment: clone(comment),
      movedToStep: working.current_step !== stepBefore && !working.close_date ? working.current_step : undefined,
    };
  }

  private applyFieldUpdate(task: PyrusTask, update: Json): Json {
    task.fields = task.fields ?? [];
    let field: PyrusField | undefined;
    if (update.id !== undefined) {
      field = findFieldById(task.fields, Number(update.id)) ?? this.fieldFromForm(task, (f) => f.id === Number(update.id));
      if (!field) throw new EmulatorHttpError(400, 'invalid_field_id', `Field with id ${String(update.id)} not found.`);
    } else if (update.code !== undefined) {
      field =
        findField(task.fields, (f) => f.code === update.code || (f.info as Json | undefined)?.code === update.code) ??
        this.fieldFromForm(task, (f) => f.code === update.code || (f.info as Json | undefined)?.code === update.code);
      if (!field) throw new EmulatorHttpError(400, 'invalid_field_code', `Field with code "${String(update.code)}" not found.`);
    } else if (update.name !== undefined) {
      field = findField(task.fields, (f) => f.name === update.name) ?? this.fieldFromForm(task, (f) => f.name === update.name);
      if (!field) throw new EmulatorHttpError(400, 'invalid_field_name', `Field with name "${String(update.name)}" not found.`);
    } else {
      throw new EmulatorHttpError(400, 'field_identity_missing', 'A field update needs "id", "code" or "name".');
    }
    if (['step', 'status', 'creation_date', 'note', 'project'].includes(String(field.type))) {
      throw new EmulatorHttpError(400, 'field_editing_is_not_allowed', `Field ${field.id} is read-only.`);
    }
    if (update.value === null || update.value === undefined || update.value === '') delete field.value;
    else field.value = clone(update.value);
    const written: Json = { id: field.id, type: field.type, name: field.name };
    if (field.code !== undefined) written.code = field.code;
    if (field.value !== undefined) written.value = clone(field.value);
    return written;
  }

  /** A field the form defines but the task does not hold yet: added to the task's top-level fields. */
  private fieldFromForm(task: PyrusTask, match: (f: Json) => boolean): PyrusField | undefined {
    const form = task.form_id !== undefined ? this.forms.get(task.form_id) : undefined;
    const def = ((form?.fields as Json[] | undefined) ?? []).find(match);
    if (!def) return undefined;
    const held = findFieldById(task.fields, def.id as number);
    if (held) return held;
    const field: PyrusField = { id: def.id as number, type: def.type as string, name: def.name as string };
    const code = def.code ?? (def.info as Json | undefined)?.code;
    if (code !== undefined) field.code = code as string;
    task.fields!.push(field);
    return field;
  }
}

function findField(fields: PyrusField[], match: (f: PyrusField) => boolean): PyrusField | undefined {
  for (const field of fields) {
    if (match(field)) return field;
    const inner = (field.value as { fields?: PyrusField[] } | undefined)?.fields;
    if (field.type === 'title' && Array.isArray(inner)) {
      const found = findField(inner, match);
      if (found) return found;
    }
  }
  return undefined;
}

/** Persons still waiting on a step. */
export function waitingOn(task: PyrusTask, step: number | undefined): PyrusPerson[] {
  if (step === undefined) return [];
  return (task.approvals?.[step - 1] ?? []).filter((a) => a.approval_choice === 'waiting').map((a) => a.person);
}

function stepComplete(approvals: PyrusApproval[] | undefined): boolean {
  return (approvals ?? []).every((a) => a.approval_choice === 'approved' || a.approval_choice === 'acknowledged');
}

/** Moves current_step forward past every complete step; after the last step the task is closed. */
function advanceSteps(task: PyrusTask): void {
  if (task.close_date || task.current_step === undefined || !Array.isArray(task.approvals)) return;
  while (task.current_step <= task.approvals.length && stepComplete(task.approvals[task.current_step - 1])) {
    if (task.current_step === task.approvals.length) {
      task.close_date = nowIso();
      return;
    }
    task.current_step += 1;
  }
}

/** approvals_added / approvals_removed / approvals_rerequested: outer array = steps (index 0 = step 1). */
function applyApprovalLists(task: PyrusTask, request: Json, people: (ref: Json) => PyrusPerson, comment: Json): void {
  const perStep = (key: string): Json[][] => (Array.isArray(request[key]) ? (request[key] as Json[][]) : []);
  task.approvals = task.approvals ?? [];
  const added = perStep('approvals_added');
  added.forEach((refs, index) => {
    while (task.approvals!.length <= index) task.approvals!.push([]);
    for (const ref of refs ?? []) {
      const person = people(ref);
      if (!task.approvals![index].some((a) => a.person.id === person.id))
        task.approvals![index].push({ person, approval_choice: 'waiting' });
    }
  });
  if (added.length > 0) comment.approvals_added = clone(added);
  const removed = perStep('approvals_removed');
  removed.forEach((refs, index) => {
    const ids = (refs ?? []).map((r) => people(r).id);
    if (task.approvals![index]) task.approvals![index] = task.approvals![index].filter((a) => !ids.includes(a.person.id));
  });
  if (removed.length > 0) comment.approvals_removed = clone(removed);
  const rerequested = perStep('approvals_rerequested');
  let earliest: number | undefined;
  rerequested.forEach((refs, index) => {
    for (const ref of refs ?? []) {
      const person = people(ref);
      const entry = task.approvals![index]?.find((a) => a.person.id === person.id);
      if (entry) entry.approval_choice = 'waiting';
      else {
        while (task.approvals!.length <= index) task.approvals!.push([]);
        task.approvals![index].push({ person, approval_choice: 'waiting' });
      }
      earliest = earliest === undefined ? index + 1 : Math.min(earliest, index + 1);
    }
  });
  if (rerequested.length > 0) comment.approvals_rerequested = clone(rerequested);
  if (earliest !== undefined && task.current_step !== undefined && earliest < task.current_step) {
    task.current_step = earliest;
    delete task.close_date;
  }
}
