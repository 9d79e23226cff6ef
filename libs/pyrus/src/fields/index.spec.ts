import * as pyrus from '@app/pyrus';

describe('@app/pyrus exports the field helpers', () => {
  it('from the package root', () => {
    for (const name of ['findField', 'findFields', 'requireField', 'walkFields', 'readFieldValue', 'readMoney', 'fieldUpdates']) {
      expect(typeof (pyrus as Record<string, unknown>)[name]).toBe('function');
    }
    const task = { id: 1, fields: [{ id: 8, type: 'money', code: 'amount', value: 1000 }] };
    expect(pyrus.readMoney(pyrus.findField(task, 'amount')?.field)).toBe(1000);
    expect(pyrus.fieldUpdates().byCode('amount').money(1500).build()).toEqual([{ code: 'amount', value: 1500 }]);
  });
});
