import { comparableValues, FieldValueIndex, indexableFilter, parseRegisterFilter } from './register-filter';

describe('register filters', () => {
  const matches = (filter: string, values: (string | number)[]) => parseRegisterFilter(filter)(values);

  it('equals numbers, prefixes text (case-insensitive)', () => {
    expect(matches('500', [500])).toBe(true);
    expect(matches('500', [5000])).toBe(false);
    expect(matches('Сч', ['Счёт поставщика'])).toBe(true);
    expect(matches('сч', ['Счёт'])).toBe(true);
    expect(matches('Аванс', ['Счёт'])).toBe(false);
  });

  it('gt / lt are strict; a range needs both', () => {
    expect(matches('gt100', [100])).toBe(false);
    expect(matches('gt100', [101])).toBe(true);
    expect(matches('lt100', [99.5])).toBe(true);
    expect(matches('gt100,lt200', [150])).toBe(true);
    expect(matches('gt100,lt200', [200])).toBe(false);
    expect(matches('gt2026-01-01', ['2026-02-01'])).toBe(true);
  });

  it('in-list, empty and "*"', () => {
    expect(matches('1,2,3', [2])).toBe(true);
    expect(matches('1,2,3', [4])).toBe(false);
    expect(matches('empty', [])).toBe(true);
    expect(matches('empty', [1])).toBe(false);
    expect(matches('*', [1])).toBe(true);
    expect(matches('*', [])).toBe(false);
  });

  it('reads ids out of catalog, choice, person and link values', () => {
    expect(comparableValues({ id: 1, value: { item_ids: [5, 6] } })).toEqual([5, 6]);
    expect(comparableValues({ id: 1, value: { choice_id: 3, choice_ids: [3] } })).toEqual([3]);
    expect(comparableValues({ id: 1, value: { id: 42, first_name: 'x' } })).toEqual([42]);
    expect(comparableValues({ id: 1, value: { task_ids: [7] } })).toEqual([7]);
    expect(comparableValues({ id: 1, type: 'file' })).toEqual([]);
    expect(comparableValues({ id: 1, value: '' })).toEqual([]);
  });

  it('an index of field values offers every task a one-value filter matches, and few others', () => {
    const tasks: Array<[number, (string | number)[]]> = [
      [1, [500]],
      [2, ['500']],
      [3, [5000]],
      [4, ['500 Main St']],
      [5, ['Счёт']],
      [6, []],
      [7, [500, 'x']],
      [8, ['5e2']],
    ];
    const index = new FieldValueIndex();
    for (const [id, values] of tasks) index.add(id, values);
    for (const wanted of ['500', '5000', '500 M', 'сч', 'x', '7']) {
      const matching = tasks.filter(([, values]) => matches(wanted, values)).map(([id]) => id);
      const offered = index.candidates(wanted);
      expect(matching.filter((id) => !offered.has(id))).toEqual([]);
    }
    expect([...index.candidates('500')].sort()).toEqual([1, 2, 4, 5, 7, 8]);
    index.remove(1, [500]);
    expect(index.candidates('500').has(1)).toBe(false);
  });

  it('picks the first fld filter of one plain value for the index', () => {
    expect(indexableFilter({ fld8: 'gt100', fld1: 'Аванс', item_count: 5 })).toEqual({ fieldId: 1, wanted: 'Аванс' });
    expect(indexableFilter({ fld8: '100,200', fld9: 'empty', fld4: '*' })).toBeUndefined();
    expect(indexableFilter({ fld2: ' 7701 ' })).toEqual({ fieldId: 2, wanted: '7701' });
  });
});
