import { renderTemplate, TemplateError, templatePlaceholders } from './message-template';

describe('renderTemplate', () => {
  it('fills placeholders from the values', () => {
    expect(
      renderTemplate('Invoice {invoiceNumber} of {amount} {currency} approved', {
        invoiceNumber: 'INV-7',
        amount: '1250.00',
        currency: 'EUR',
      }),
    ).toBe('Invoice INV-7 of 1250.00 EUR approved');
    expect(renderTemplate('{n} items, paid: {paid}, {n} again', { n: 3, paid: false })).toBe('3 items, paid: false, 3 again');
  });

  it('rejects missing values, naming each once', () => {
    const attempt = () => renderTemplate('{a} {b} {a} {c}', { b: 'x', c: null });
    expect(attempt).toThrow(TemplateError);
    expect(attempt).toThrow('Template values missing: {a}, {c}');
  });

  it('keeps an empty string, literal braces and non-placeholders', () => {
    expect(renderTemplate('[{x}] {{x}} { x } {1x} {}', { x: '' })).toBe('[] {x} { x } {1x} {}');
  });

  it('does not read inherited properties', () => {
    expect(() => renderTemplate('{constructor}', {})).toThrow(TemplateError);
  });

  it('lists the placeholders of a template', () => {
    expect(templatePlaceholders('Invoice {invoiceNumber}: {amount} {currency}, {{literal}} {amount}')).toEqual([
      'invoiceNumber',
      'amount',
      'currency',
    ]);
  });
});
