import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PyrusField, PyrusTask } from '../pyrus.types';
import { findFields, walkFields } from './field-lookup';
import {
  fieldKey,
  isKnownFieldType,
  readCatalog,
  readCheckmark,
  readCreationDate,
  readDate,
  readDueDate,
  readDueDateTime,
  readFieldValue,
  readFiles,
  readFlag,
  readFormLink,
  readMoney,
  readMultipleChoice,
  readNote,
  readNumber,
  readPerson,
  readProject,
  readStatus,
  readStep,
  readTable,
  readText,
  readTime,
  readTitle,
} from './field-values';

const loadTask = (): PyrusTask => JSON.parse(readFileSync(resolve(__dirname, '../../../../test/fixtures/pyrus/task.json'), 'utf8')).task;

/** The fixture's field with this id and type (it reuses id 37 for two fields). */
function field(id: number, type?: string): PyrusField {
  const found = findFields(loadTask(), id).find((f) => type === undefined || f.field.type === type);
  if (!found) throw new Error(`fixture has no field ${id}`);
  return found.field;
}

const savely = { id: 123456, name: 'Савелий Игоревич Красовский', email: 'savely.krasovsky@example.org', type: 'user' };

describe('reading every type of the fixture', () => {
  it('text, phone, email', () => {
    expect(readText(field(1))).toBe('Пример');
    expect(readText(field(11))).toBe('79000000000,12345');
    expect(readText(field(12))).toBe('mail@example.org');
    expect(readFieldValue(field(12))).toBe('mail@example.org');
  });

  it('number and money', () => {
    expect(readNumber(field(6))).toBe(3000);
    expect(readNumber(field(7))).toBe(1);
    expect(readMoney(field(8))).toBe(1000);
    expect(readFieldValue(field(8))).toBe(1000);
  });

  it('date, time, due_date, due_date_time', () => {
    expect(readDate(field(9))).toBe('2021-08-01');
    expect(readTime(field(10))).toBe('21:20');
    expect(readDueDate(field(36))).toEqual({ date: '2021-08-01' });
    expect(readDueDateTime(field(34))).toEqual({ datetime: '2021-08-01T21:20:00Z' });
  });

  it('due dates carry the field-level duration in minutes', () => {
    expect(readDueDateTime({ ...field(34), duration: 90 })).toEqual({ datetime: '2021-08-01T21:20:00Z', duration: 90 });
    expect(readDueDate({ ...field(36), duration: 30 })).toEqual({ date: '2021-08-01', duration: 30 });
  });

  it('checkmark and flag', () => {
    expect(readCheckmark(field(3))).toBe(true);
    expect(readCheckmark({ id: 3, type: 'checkmark', value: 'unchecked' })).toBe(false);
    expect(readFlag(field(37, 'flag'))).toBe('none');
  });

  it('catalog: item ids, headers and rows', () => {
    expect(readCatalog(field(4))).toEqual({
      itemIds: [78122345],
      headers: ['Департамент коммуникаций с Клиентами/Управление дистанционных продаж'],
      rows: [['Управление клиентского сервиса/Дивизион корпоративного бизнеса']],
    });
  });

  it('catalog: the legacy single item_id / values when the plural keys are absent', () => {
    const legacy = { id: 4, type: 'catalog', value: { item_id: 23, headers: ['Марка'], values: ['GE'] } };
    expect(readCatalog(legacy)).toEqual({ itemIds: [23], headers: ['Марка'], rows: [['GE']] });
  });

  it('person and author', () => {
    expect(readPerson(field(13))).toEqual(savely);
    expect(readPerson(field(32))).toEqual(savely);
    expect(readFieldValue(field(32))).toEqual(savely);
  });

  it('a person without email or first name (a role)', () => {
    const role = { id: 7, type: 'person', value: { id: 1730, first_name: '', last_name: 'Pyrus.com', type: 'role' } };
    expect(readPerson(role)).toEqual({ id: 1730, name: 'Pyrus.com', type: 'role' });
  });

  it('multiple_choice', () => {
    expect(readMultipleChoice(field(2))).toEqual({ choiceIds: [1], choiceNames: ['Да'] });
  });

  it('form_link', () => {
    expect(readFormLink(field(5))).toEqual({ taskIds: [90677665], subject: 'Тестовая задача' });
  });

  it('file, and a file field without files', () => {
    expect(readFiles(field(14))).toEqual([
      { id: 123456, name: 'uploaded_file.json', size: 93, url: 'https://pyrus.com/services/attachment?id=123456' },
    ]);
    expect(readFiles(field(15))).toBeUndefined();
    expect(readFieldValue(field(15))).toBeUndefined();
  });

  it('title: its checkmark and child values keyed by name', () => {
    expect(readTitle(field(16))).toEqual({
      checked: false,
      fields: {
        Текст: 'ПАО «Совкомбанк»',
        'Наименование (Текст)': 'ПАО "СОВКОМБАНК"',
        'Адрес (Текст)': '156000, г Кострома, пр-т Текстильщиков, 46',
        'БИК (Текст)': '043469743',
        'ИНН (Текст)': '4401116480',
      },
    });
  });

  it('table: rows with row id and cells keyed by name', () => {
    expect(readTable(field(22))).toEqual([
      {
        rowId: 0,
        cells: {
          Текст: '420107, Респ. Татарстан, г. Казань, ул. Петербургская, зд. 50 к. 8',
          'Индекс (Текст)': '420107',
          'Регион (Текст)': 'Татарстан',
          'Город (Текст)': 'Казань',
          'Улица (Текст)': 'Петербургская',
          'Дом (Текст)': '50',
        },
      },
    ]);
  });

  it('table cells: code first, then name, then id; values read by type; a taken key falls back to the id', () => {
    const table: PyrusField = {
      id: 40,
      type: 'table',
      value: [
        {
          row_id: 2,
          position: 1,
          cells: [
            { id: 41, type: 'money', code: 'price', name: 'Цена', value: 99.5 },
            { id: 42, type: 'checkmark', name: 'Оплачено', value: 'checked' },
            { id: 43, type: 'number', value: 3 },
            { id: 44, type: 'text', name: 'Оплачено', value: 'дубль' },
            { id: 45, type: 'text', name: 'Пусто' },
          ],
        },
        { row_id: 5, deleted: true, cells: [] },
      ],
    };
    expect(readTable(table)).toEqual([
      { rowId: 2, position: 1, cells: { price: 99.5, Оплачено: true, '43': 3, '44': 'дубль' } },
      { rowId: 5, deleted: true, cells: {} },
    ]);
    expect(fieldKey({ id: 41, code: 'price', name: 'Цена' })).toBe('price');
    expect(fieldKey({ id: 46, name: '' })).toBe('46');
  });

  it('read-only types as given: note, status, creation_date, step', () => {
    expect(readNote(field(28))).toBe('Примечание');
    expect(readStatus(field(31))).toBe('open');
    expect(readCreationDate(field(33))).toBe('2021-07-31');
    expect(readStep(field(35))).toBe(1);
  });

  it('project, as given', () => {
    const value = { projects: [{ id: 5, name: 'Склад', parent: { id: 1, name: 'Все' } }] };
    expect(readProject({ id: 50, type: 'project', value })).toEqual(value);
  });

  it('an unknown type passes through untouched, the same object', () => {
    const unknown = field(37, 'unknown');
    expect(readFieldValue(unknown)).toBe(unknown.value);
    expect(readFieldValue(unknown)).toEqual(['test', 'test2']);
    expect(isKnownFieldType('unknown')).toBe(false);
  });

  it('reads every field of the fixture without throwing, nested ones included', () => {
    for (const { field: f } of walkFields(loadTask())) {
      expect(() => readFieldValue(f)).not.toThrow();
      if (f.value !== undefined) expect(readFieldValue(f)).toBeDefined();
    }
  });
});

describe('missing values and wrong types', () => {
  it('a missing field or value reads as undefined', () => {
    expect(readMoney(undefined)).toBeUndefined();
    expect(readFieldValue(undefined)).toBeUndefined();
    expect(readMoney({ id: 8, type: 'money' })).toBeUndefined();
    expect(readTable({ id: 22, type: 'table' })).toBeUndefined();
  });

  it('a helper for another type throws naming the field', () => {
    expect(() => readMoney(field(1))).toThrow('Pyrus field 1 "Текст" is of type text, expected money or number');
    expect(() => readText(field(8))).toThrow(/field 8 "Деньги" is of type money/);
  });

  it('a field without a type is read by shape', () => {
    expect(readMoney({ id: 8, value: 1500 })).toBe(1500);
    expect(readFieldValue({ id: 8, value: 1500 })).toBe(1500);
  });

  it('a known type holding a value of the wrong shape throws naming the field', () => {
    expect(() => readFieldValue({ id: 8, type: 'money', name: 'Деньги', value: '1000' })).toThrow(
      'Pyrus field 8 "Деньги" (money): expected a number, got string',
    );
    expect(() => readCheckmark({ id: 3, type: 'checkmark', value: 'maybe' })).toThrow(/expected "checked" or "unchecked"/);
    expect(() => readTable({ id: 22, type: 'table', value: {} })).toThrow(/expected an array, got object/);
  });

  it('gives a typed result when the type is a literal', () => {
    const amount: number | undefined = readFieldValue({ id: 8, type: 'money' as const, value: 10 });
    const person = readFieldValue({ id: 13, type: 'person' as const, value: { id: 1, last_name: 'Бот' } });
    expect(amount).toBe(10);
    expect(person?.name).toBe('Бот');
  });
});
