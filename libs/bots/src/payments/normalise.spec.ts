import { normaliseInvoiceNumber, normaliseName, normaliseTaxId } from './normalise';

describe('payment normalisation', () => {
  describe('supplier names', () => {
    it.each([
      'ООО «Луч»',
      'ООО "Луч"',
      'ооо „Луч“',
      'ООО “Луч”',
      "ООО 'Луч'",
      'ООО ‘Луч’',
      'ООО `Луч`',
      'ООО ‹Луч›',
      '  ООО   «ЛУЧ»  ',
      'ООО\u00A0«Луч»',
      'ООО\t"Луч".',
      'ООО«Луч»',
    ])('"%s" is the supplier ООО «Луч»', (typed) => {
      expect(normaliseName(typed)).toBe('ооо луч');
    });

    it.each(['Луч-Сервис', 'Луч – Сервис', 'Луч—Сервис', 'Луч‑Сервис', 'Луч−Сервис', 'ЛУЧ  СЕРВИС'])(
      '"%s" is the supplier Луч-Сервис: dashes of every kind and spacing set aside',
      (typed) => {
        expect(normaliseName(typed)).toBe('луч сервис');
      },
    );

    it('keeps suppliers apart whose letters differ', () => {
      expect(normaliseName('ООО «Луч»')).not.toBe(normaliseName('ООО «Лучи»'));
      expect(normaliseName('Луч-Сервис')).not.toBe(normaliseName('ЛучСервис Плюс'));
    });
  });

  describe('tax ids', () => {
    it.each(['7701000002', '7701 000 002', '7701-000-002', '7701\u00A0000\u00A0002', 'ИНН 7701000002', ' 7701000002 '])(
      '"%s" is the tax id 7701000002',
      (typed) => {
        expect(normaliseTaxId(typed)).toBe('7701000002');
      },
    );

    it('has nothing left of a value without digits', () => {
      expect(normaliseTaxId('нет')).toBe('');
    });
  });

  describe('invoice numbers', () => {
    it.each([
      'СЧ-15/2024',
      'сч 15 2024',
      'Сч.15.2024',
      'СЧ—15/2024',
      'СЧ–15–2024',
      'СЧ‑15‑2024',
      '№ СЧ_15_2024',
      '#СЧ 15\\2024',
      '«СЧ-15/2024»',
      '"сч-15/2024"',
      'СЧ\u00A015\u200B/2024',
    ])('"%s" is the invoice СЧ-15/2024', (typed) => {
      expect(normaliseInvoiceNumber(typed)).toBe('СЧ152024');
    });

    it('keeps invoices apart whose digits differ', () => {
      expect(normaliseInvoiceNumber('INV-2024/001')).not.toBe(normaliseInvoiceNumber('INV-2024/010'));
    });
  });
});
