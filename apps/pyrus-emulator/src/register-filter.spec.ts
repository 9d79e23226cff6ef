import { comparableValues, parseRegisterFilter } from './register-filter';

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
});
