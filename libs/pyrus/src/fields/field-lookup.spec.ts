import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PyrusField, PyrusTask } from '../pyrus.types';
import { describeField, fieldCode, findField, findFields, requireField, walkFields } from './field-lookup';

const loadTask = (): PyrusTask => JSON.parse(readFileSync(resolve(__dirname, '../../../../test/fixtures/pyrus/task.json'), 'utf8')).task;

/** The fixture has no codes (its form never set any); give a few fields codes, at the top, in the title, in the table. */
function taskWithCodes(): PyrusTask {
  const task = loadTask();
  const byId = (id: number) => [...walkFields(task)].find((f) => f.field.id === id)!.field;
  byId(8).code = 'amount';
  byId(21).code = 'inn';
  byId(26).code = 'city';
  return task;
}

describe('findField', () => {
  it('finds a top-level field by code, id and name', () => {
    const task = taskWithCodes();
    expect(findField(task, { code: 'amount' })).toEqual({ field: expect.objectContaining({ id: 8, value: 1000 }) });
    expect(findField(task, { id: 8 })?.field.name).toBe('Деньги');
    expect(findField(task, { name: 'Деньги' })?.field.id).toBe(8);
  });

  it('matches names case-insensitively and trimmed, Cyrillic included', () => {
    const task = loadTask();
    expect(findField(task, { name: '  ДЕНЬГИ ' })?.field.id).toBe(8);
    expect(findField(task, { name: 'эл. почта' })?.field.value).toBe('mail@example.org');
  });

  it('finds a field inside a title and says which title', () => {
    const task = taskWithCodes();
    const found = findField(task, { code: 'inn' });
    expect(found).toEqual({ field: expect.objectContaining({ id: 21, value: '4401116480' }), parentId: 16, titleId: 16 });
    expect(findField(task, { name: 'БИК (Текст)' })).toMatchObject({ field: { id: 20, value: '043469743' }, titleId: 16 });
    expect(findField(task, 19)).toMatchObject({ titleId: 16, field: { value: '156000, г Кострома, пр-т Текстильщиков, 46' } });
  });

  it('finds a table cell and says which table and row', () => {
    const task = taskWithCodes();
    expect(findField(task, { code: 'city' })).toEqual({
      field: expect.objectContaining({ id: 26, value: 'Казань' }),
      parentId: 22,
      tableId: 22,
      rowId: 0,
    });
    expect(findField(task, { name: 'регион (текст)' })).toMatchObject({ field: { value: 'Татарстан' }, tableId: 22, rowId: 0 });
    expect(findField(task, 29)?.field.value).toBe('50');
  });

  it('takes a number as an id and a string as a code, then as a name', () => {
    const task = taskWithCodes();
    expect(findField(task, 12)?.field.type).toBe('email');
    expect(findField(task, 'amount')?.field.id).toBe(8);
    expect(findField(task, 'Телефон')?.field.value).toBe('79000000000,12345');
  });

  it('prefers the code over the name when a selector carries both', () => {
    const task = taskWithCodes();
    expect(findField(task, { code: 'amount', name: 'Телефон' })?.field.id).toBe(8);
    expect(findField(task, { code: 'no-such-code', name: 'Телефон' })?.field.id).toBe(11);
    // A string that is both some field's code and another field's name: the code wins.
    findField(task, 12)!.field.code = 'Деньги';
    expect(findField(task, 'Деньги')?.field.id).toBe(12);
  });

  it('returns the first match in document order: the top-level field before the title and table ones', () => {
    const task = loadTask();
    expect(findField(task, 'Текст')?.field.id).toBe(1);
  });

  it('is undefined when nothing matches, and for a task without fields', () => {
    const task = loadTask();
    expect(findField(task, { code: 'missing' })).toBeUndefined();
    expect(findField(task, 999)).toBeUndefined();
    expect(findField(task, 'Нет такого поля')).toBeUndefined();
    expect(findField({ id: 1 } as PyrusTask, 1)).toBeUndefined();
    expect(findField(undefined, 1)).toBeUndefined();
  });

  it('accepts a bare field list', () => {
    const task = loadTask();
    expect(findField(task.fields, 9)?.field.value).toBe('2021-08-01');
  });
});

describe('findFields', () => {
  it('returns a table column once per row, with each row id', () => {
    const task = loadTask();
    const table = findField(task, 22)!.field;
    const rows = table.value as { row_id: number; cells: PyrusField[] }[];
    rows.push({ row_id: 3, cells: [{ id: 26, type: 'text', name: 'Город (Текст)', parent_id: 22, row_id: 3, value: 'Кострома' }] });
    const found = findFields(task, { name: 'Город (Текст)' });
    expect(found.map((f) => [f.rowId, f.field.value])).toEqual([
      [0, 'Казань'],
      [3, 'Кострома'],
    ]);
    expect(found.every((f) => f.tableId === 22)).toBe(true);
  });

  it('returns every field sharing a name, across top level, title and table', () => {
    const found = findFields(loadTask(), 'текст');
    expect(found.map((f) => [f.field.id, f.titleId, f.tableId])).toEqual([
      [1, undefined, undefined],
      [17, 16, undefined],
      [23, undefined, 22],
    ]);
  });

  it('returns both fields of a duplicated id (the fixture reuses 37)', () => {
    expect(findFields(loadTask(), 37).map((f) => f.field.type)).toEqual(['flag', 'unknown']);
  });

  it('is empty when nothing matches', () => {
    expect(findFields(loadTask(), { code: 'missing' })).toEqual([]);
  });
});

describe('form definitions', () => {
  // GET /forms/{id}: codes sit in info.code, title children in info.fields, table columns in info.columns.
  const form = {
    id: 321,
    name: 'Заявка',
    fields: [
      { id: 1, type: 'money', name: 'Сумма', info: { code: 'amount' } },
      { id: 2, type: 'title', name: 'Реквизиты', info: { fields: [{ id: 3, type: 'text', name: 'ИНН', info: { code: 'inn' } }] } },
      { id: 4, type: 'table', name: 'Позиции', info: { columns: [{ id: 5, type: 'number', name: 'Кол-во', info: { code: 'qty' } }] } },
    ],
  };

  it('finds fields by info.code, inside titles and table columns', () => {
    expect(findField(form, 'amount')?.field.id).toBe(1);
    expect(findField(form, { code: 'inn' })).toMatchObject({ field: { id: 3 }, titleId: 2, parentId: 2 });
    expect(findField(form, { code: 'qty' })).toEqual({ field: expect.objectContaining({ id: 5 }), parentId: 4, tableId: 4 });
    expect(fieldCode(form.fields[0])).toBe('amount');
  });
});

describe('requireField and describeField', () => {
  it('returns the field or throws naming the selector', () => {
    const task = loadTask();
    expect(requireField(task, 8).field.value).toBe(1000);
    expect(() => requireField(task, { code: 'amount' })).toThrow('Pyrus field {"code":"amount"} not found');
  });

  it('names a field by id, code and name', () => {
    expect(describeField({ id: 8, code: 'amount', name: 'Деньги' })).toBe('field 8 (code amount) "Деньги"');
    expect(describeField({ id: 8 })).toBe('field 8');
  });
});

describe('walkFields', () => {
  it('visits every field of the fixture, nested ones included', () => {
    const ids = [...walkFields(loadTask())].map((f) => f.field.id);
    expect(ids).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 29, 28, 31, 32, 33, 34, 35, 36, 37,
      37,
    ]);
  });
});
