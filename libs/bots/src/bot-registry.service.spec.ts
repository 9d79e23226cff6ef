import { ConfigService } from '@nestjs/config';
import { DataSource } from 'typeorm';
import { AppConfiguration, BotConfig, ConfigError } from '@app/config';
import { BotRegistry } from './bot-registry.service';
import { AutoReplyHandler } from './auto-reply/auto-reply.handler';
import { BudgetCheckHandler } from './budget-check/budget-check.handler';
import { PaymentApprovalHandler } from './payment-approval/payment-approval.handler';
import { RegisterDuplicates } from './payments/duplicates';
import { PaymentApprovalSettings } from './payment-approval/payment-approval.settings';
import { PaymentOrderFollowUps } from './payment-order/payment-order.follow-ups';
import { PaymentOrderHandler } from './payment-order/payment-order.handler';
import { ErpClient } from '@app/integrations';
import { PinoLogger } from 'nestjs-pino';

const configWith = (bots: Partial<BotConfig>[]) => ({ get: () => ({ bots }) }) as unknown as ConfigService<AppConfiguration, true>;
// The registry never calls a handler: the register search, the follow-ups and the database are not used here.
const unused = <T>() => undefined as unknown as T;
const handlers = () => [
  new AutoReplyHandler(),
  new PaymentApprovalHandler(unused<RegisterDuplicates>(), unused<DataSource>()),
  new PaymentOrderHandler(unused<DataSource>(), unused<ErpClient>(), unused<PaymentOrderFollowUps>(), unused<PinoLogger>()),
];
const paymentSettings = (extra: Record<string, unknown> = {}) => ({
  fields: { supplier: 'supplier', invoiceNumber: 'invoice_no', invoiceDate: 'invoice_date', amount: { id: 4 }, currency: 'currency' },
  ...extra,
});
const registryWith = (settings: Record<string, unknown>, handler = 'payment-approval') =>
  new BotRegistry(configWith([{ name: 'payments', handler, settings }]), handlers());

describe('BotRegistry', () => {
  it('refuses to start when a bot names an unknown handler, naming the bot', () => {
    const config = configWith([{ name: 'payments', handler: 'payment-approval-v9' }]);
    expect(() => new BotRegistry(config, [new AutoReplyHandler()])).toThrow(ConfigError);
    expect(() => new BotRegistry(config, [new AutoReplyHandler()])).toThrow(/bot "payments": unknown handler "payment-approval-v9"/);
  });

  it('finds bots and their handlers, and 404s an unknown bot', () => {
    const registry = new BotRegistry(configWith([{ name: 'a', handler: 'auto-reply', settings: {} }]), [new AutoReplyHandler()]);
    expect(registry.handlerOf(registry.get('a')).name).toBe('auto-reply');
    expect(() => registry.get('b')).toThrow(/No bot named "b"/);
  });

  it("gives each bot its settings as its handler's settings class, nested classes included", () => {
    const registry = registryWith(paymentSettings({ budget: { scope: 'supplier', period: 'month' }, duplicateWindowDays: 45 }));
    const settings = registry.settingsOf(registry.get('payments')) as PaymentApprovalSettings;
    expect(settings).toBeInstanceOf(PaymentApprovalSettings);
    expect(settings).toMatchObject({
      duplicateWindowDays: 45,
      budget: { scope: 'supplier', period: 'month' },
      fields: { amount: { id: 4 } },
    });
  });

  it.each([
    [
      'a nested value of the wrong kind',
      { budget: { scope: 'department', period: 'month' } },
      /budget\.scope: "supplier" or "cost_centre" is expected/,
    ],
    [
      'a field selector that is not one',
      { fields: { ...paymentSettings().fields, amount: true } },
      /fields\.amount: a field code \(string\), id \(number\)/,
    ],
    [
      'a required field left out',
      { fields: { supplier: 'supplier', invoiceDate: 'd', amount: 'a', currency: 'c' } },
      /fields\.invoiceNumber: a field code/,
    ],
    ['a number of days that is not whole', { duplicateWindowDays: 2.5 }, /duplicateWindowDays: a whole number of days is expected/],
    [
      'an ERP order asked of the preset',
      { erp: { enabled: true } },
      /erp: the ERP order belongs to a "payment-order" bot on its own stage after the people's approval/,
    ],
    ['vendor notifications asked of the preset', { notify: { sms: { text: 'paid' } } }, /notify: the vendor notifications belong/],
  ])('refuses to start on %s, naming the bot, the key path and what is expected', (_, extra, expected) => {
    expect(() => registryWith(paymentSettings(extra))).toThrow(ConfigError);
    expect(() => registryWith(paymentSettings(extra))).toThrow(/^BOTS_FILE: bot "payments": settings: /);
    expect(() => registryWith(paymentSettings(extra))).toThrow(expected);
  });

  it.each([
    [
      'a setting that needs another',
      { notify: { sms: { text: 'paid' } } },
      /notify: fields\.vendorPhone is required for SMS notifications/,
    ],
    ['a nested template left empty', { notify: { email: { subject: 'x' } } }, /notify\.email\.text: /],
    ['a document field that is not one', { erp: { documentField: [] } }, /erp\.documentField: a field code/],
    ['a text of the wrong kind', { erp: { createdText: 5 } }, /erp\.createdText: /],
  ])('refuses to start a payment-order bot on %s', (_, extra, expected) => {
    expect(() => registryWith(paymentSettings(extra), 'payment-order')).toThrow(/^BOTS_FILE: bot "payments": settings: /);
    expect(() => registryWith(paymentSettings(extra), 'payment-order')).toThrow(expected);
  });

  it('takes a payment-order bot with the ERP texts and the notifications', () => {
    const registry = registryWith(
      paymentSettings({
        fields: { ...paymentSettings().fields, vendorEmail: 'vendor_email' },
        erp: { documentField: 'erp_document', createdText: 'Order {documentId}' },
        notify: { email: { subject: 'Invoice {invoiceNumber}', text: 'Approved' } },
      }),
      'payment-order',
    );
    expect(registry.settingsOf(registry.get('payments'))).toMatchObject({
      erp: { documentField: 'erp_document', createdText: 'Order {documentId}' },
      notify: { email: { subject: 'Invoice {invoiceNumber}' } },
    });
  });

  it('refuses a budget-check bot without its budget, and a named step to return to without the step', () => {
    const budgetBot = (settings: Record<string, unknown>) =>
      new BotRegistry(configWith([{ name: 'budget', handler: 'budget-check', settings }]), [new BudgetCheckHandler(unused<DataSource>())]);
    expect(() => budgetBot(paymentSettings())).toThrow(/bot "budget": settings: budget: an object with "scope" and "period" is expected/);
    const budget = { scope: 'supplier', period: 'month' };
    expect(() => budgetBot(paymentSettings({ budget, returnTo: 'step' }))).toThrow(
      /bot "budget": settings: returnTo: returnToStep is required with returnTo "step"/,
    );
    expect(budgetBot(paymentSettings({ budget, returnTo: 'step', returnToStep: 1 })).get('budget').handler).toBe('budget-check');
  });

  it('refuses settings without the fields object or a currency', () => {
    expect(() => registryWith({ defaultCurrency: 'RUB' })).toThrow(
      /bot "payments": settings: fields: an object naming the form fields is expected/,
    );
    const { currency: _, ...withoutCurrency } = paymentSettings().fields;
    expect(() => registryWith({ fields: withoutCurrency })).toThrow(/fields: fields\.currency or defaultCurrency is required/);
    expect(() => registryWith({ fields: withoutCurrency, defaultCurrency: 'RUB' })).not.toThrow();
  });
});
