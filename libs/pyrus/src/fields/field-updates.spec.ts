import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PyrusTask, TaskCommentRequest } from '../pyrus.types';
import { findField, requireField } from './field-lookup';
import { READ_ONLY_FIELD_TYPES, fieldUpdates } from './field-updates';

const loadTask = (): PyrusTask => JSON.parse(readFileSync(resolve(__dirname, '../../../../test/fixtures/pyrus/task.json'), 'utf8')).task;

describe('fieldUpdates', () => {
  it('chains targets and values into field_updates, one identifier per entry, no type on the wire', () => {
    const updates = fieldUpdates().byCode('amount').money(1500).byId(5).text('x').byName('Телефон').text('+7 900').build();
    expect(updates).toEqual([
      { code: 'amount', value: 1500 },
      { id: 5, value: 'x' },
      { name: 'Телефон', value: '+7 900' },
    ]);
    const request: TaskCommentRequest = { approval_choice: 'approved', field_updates: updates };
    expect(request.field_updates).toHaveLength(3);
  });

  it('text, number, money', () => {
    expect(fieldUpdates().byId(1).text('Пример').byId(6).number(3000).byId(8).money(1365.27).build()).toEqual([
      { id: 1, value: 'Пример' },
      { id: 6, value: 3000 },
      { id: 8, value: 1365.27 },
    ]);
    expect(() => fieldUpdates().byId(8).money(Number.NaN)).toThrow('Pyrus field 8: expected a finite number, got NaN');
  });

  it('date, time, due date with duration, due date-time from a Date without milliseconds', () => {
    const updates = fieldUpdates()
      .byId(9)
      .date('2021-08-01')
      .byId(9)
      .date(new Date('2021-08-01T21:20:00.123Z'))
      .byId(10)
      .time('21:20')
      .byId(36)
      .dueDate('2021-08-01', 60)
      .byId(34)
      .dueDateTime(new Date('2021-08-01T21:20:00.123Z'))
      .byId(34)
      .dueDateTime('2021-08-01T21:20:00Z', 90)
      .build();
    expect(updates).toEqual([
      { id: 9, value: '2021-08-01' },
      { id: 9, value: '2021-08-01' },
      { id: 10, value: '21:20' },
      { id: 36, value: '2021-08-01', duration: 60 },
      { id: 34, value: '2021-08-01T21:20:00Z' },
      { id: 34, value: '2021-08-01T21:20:00Z', duration: 90 },
    ]);
    expect(() => fieldUpdates().byId(9).date('01.08.2021')).toThrow('Pyrus field 9: expected YYYY-MM-DD, got "01.08.2021"');
    expect(() => fieldUpdates().byId(10).time('9:5')).toThrow(/expected HH:mm/);
    expect(() => fieldUpdates().byId(34).dueDateTime('2021-08-01 21:20')).toThrow(/expected YYYY-MM-DDThh:mm:ssZ/);
    expect(() => fieldUpdates().byId(9).date(new Date('nope'))).toThrow(/expected a valid Date/);
  });

  it('checkmark and flag', () => {
    expect(fieldUpdates().byId(3).checkmark(true).byId(3).checkmark(false).byId(37).flag('checked').build()).toEqual([
      { id: 3, value: 'checked' },
      { id: 3, value: 'unchecked' },
      { id: 37, value: 'checked' },
    ]);
  });

  it('catalog by item ids or by item names', () => {
    expect(fieldUpdates().byId(4).catalogItems([78122345]).byCode('dept').catalogNames(['GE']).build()).toEqual([
      { id: 4, value: { item_ids: [78122345] } },
      { code: 'dept', value: { item_names: ['GE'] } },
    ]);
    expect(() => fieldUpdates().byId(4).catalogItems([1.5])).toThrow(/expected integer ids/);
  });

  it('person by id, by email, or by a person ref', () => {
    expect(
      fieldUpdates().byId(13).person(123456).byId(13).person('savely.krasovsky@example.org').byId(13).person({ id: 7 }).build(),
    ).toEqual([
      { id: 13, value: { id: 123456 } },
      { id: 13, value: { email: 'savely.krasovsky@example.org' } },
      { id: 13, value: { id: 7 } },
    ]);
    expect(() => fieldUpdates().byId(13).person('Савелий')).toThrow(/expected a person id or email/);
  });

  it('multiple choice by choice ids, with nested fields', () => {
    const updates = fieldUpdates()
      .byId(2)
      .multipleChoice([1])
      .byId(2)
      .multipleChoice([2], fieldUpdates().byId(50).text('почему нет'))
      .build();
    expect(updates).toEqual([
      { id: 2, value: { choice_ids: [1] } },
      { id: 2, value: { choice_ids: [2], fields: [{ id: 50, value: 'почему нет' }] } },
    ]);
  });

  it('form link by task ids', () => {
    expect(fieldUpdates().byId(5).formLink([90677665]).build()).toEqual([{ id: 5, value: { task_ids: [90677665] } }]);
  });

  it('table rows: change a cell of row 0, add row 1, delete row 3', () => {
    const updates = fieldUpdates()
      .byId(22)
      .table([
        { rowId: 0, cells: fieldUpdates().byId(26).text('Кострома').byId(29).text('46') },
        { rowId: 1, position: 1, cells: [{ id: 23, value: 'Новый адрес' }] },
        { rowId: 3, delete: true },
      ])
      .build();
    expect(updates).toEqual([
      {
        id: 22,
        value: [
          {
            row_id: 0,
            cells: [
              { id: 26, value: 'Кострома' },
              { id: 29, value: '46' },
            ],
          },
          { row_id: 1, position: 1, cells: [{ id: 23, value: 'Новый адрес' }] },
          { row_id: 3, delete: true },
        ],
      },
    ]);
  });

  it('title children', () => {
    expect(fieldUpdates().byId(16).title(fieldUpdates().byId(21).text('4401116480')).build()).toEqual([
      { id: 16, value: { fields: [{ id: 21, value: '4401116480' }] } },
    ]);
  });

  it('files by upload guid, or guid with root_id for a new version', () => {
    expect(
      fieldUpdates()
        .byId(14)
        .files(['a1b2', { guid: 'c3d4', root_id: 123456 }])
        .build(),
    ).toEqual([{ id: 14, value: [{ guid: 'a1b2' }, { guid: 'c3d4', root_id: 123456 }] }]);
  });

  it('a raw value for a type without a helper', () => {
    expect(fieldUpdates().byId(37).value(['test']).build()).toEqual([{ id: 37, value: ['test'] }]);
  });

  it('build returns a copy: later writes do not change it', () => {
    const builder = fieldUpdates().byId(1).text('a');
    const first = builder.build();
    builder.byId(2).text('b');
    expect(first).toEqual([{ id: 1, value: 'a' }]);
    expect(builder.build()).toHaveLength(2);
  });
});

describe('writing a field read from the task', () => {
  it('addresses it by code when it has one, else by id', () => {
    const task = loadTask();
    const amount = requireField(task, 8);
    expect(fieldUpdates().field(amount).money(1500).build()).toEqual([{ id: 8, value: 1500 }]);
    amount.field.code = 'amount';
    expect(fieldUpdates().field(amount.field).money(1500).build()).toEqual([{ code: 'amount', value: 1500 }]);
  });

  it('addresses a form definition field by its info.code', () => {
    expect(
      fieldUpdates()
        .field({ id: 1, type: 'money', name: 'Сумма', info: { code: 'amount' } })
        .money(10)
        .build(),
    ).toEqual([{ code: 'amount', value: 10 }]);
  });

  it('refuses a helper of another type, naming the field', () => {
    const task = loadTask();
    expect(() => fieldUpdates().field(requireField(task, 1)).money(5)).toThrow(
      'Pyrus field 1 "Текст" is of type text; cannot write it as money',
    );
    expect(() => fieldUpdates().byCode('amount', 'money').text('5')).toThrow(
      'Pyrus field (code amount) is of type money; cannot write it as text',
    );
  });
});

describe('read-only types', () => {
  it('lists the documented ones', () => {
    expect([...READ_ONLY_FIELD_TYPES].sort()).toEqual(['creation_date', 'note', 'project', 'status', 'step']);
  });

  it.each([
    [28, 'note', 'Примечание'],
    [31, 'status', 'Открыта / Завершена'],
    [33, 'creation_date', 'Дата создания'],
    [35, 'step', 'Этап'],
  ])('refuses field %d of type %s from the fixture, naming it', (id, type, name) => {
    const found = findField(loadTask(), id)!;
    expect(() => fieldUpdates().field(found).value('x')).toThrow(
      `Pyrus field ${id} ${JSON.stringify(name)} is of type ${type}, which is read-only`,
    );
  });

  it('refuses when the caller states the type, by id, code or name', () => {
    expect(() => fieldUpdates().byId(35, 'step')).toThrow('Pyrus field 35 is of type step, which is read-only');
    expect(() => fieldUpdates().byCode('proj', 'project')).toThrow('Pyrus field (code proj) is of type project, which is read-only');
    expect(() => fieldUpdates().byName('Статус', 'status')).toThrow('Pyrus field "Статус" is of type status, which is read-only');
  });
});
