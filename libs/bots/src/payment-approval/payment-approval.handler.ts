import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { BudgetPeriod } from '@app/database';
import {
  findField,
  FormRegisterRequest,
  PersonRef,
  PyrusField,
  PyrusPerson,
  PyrusTask,
  readDate,
  readFieldValue,
  readMoney,
  TaskCommentRequest,
} from '@app/pyrus';
import { BotContext, BotDecision, BotHandler, BotOf, CommentDecision, FollowUp } from '../bot-handler';
import { PaymentApprovalSettings, PaymentFieldMap } from './payment-approval.settings';
import { normaliseInvoiceNumber, normaliseName, normaliseTaxId } from './normalise';
import { PastPayment, PaymentHistory } from './payment-history';
import { FormRegisterSearch } from './form-register-search';
import { PaymentDraft, recordPayment, returnApprovalToPending } from './payment-record';
import { PaymentFollowUps } from './payment-follow-ups';

const REQUIRED: Array<[keyof PaymentFieldMap, string]> = [
  ['supplier', 'supplier'],
  ['invoiceNumber', 'invoice number'],
  ['invoiceDate', 'invoice date'],
  ['amount', 'amount'],
];
const taskLink = (id: number) => `https://pyrus.com/t#id${id}`;

/**
 * Pyrus's three payment scenarios in one handler: no duplicate payments (exact: same supplier and invoice number;
 * probable: same supplier, amount and currency, invoice dates close), budget limits per supplier or cost centre and
 * period, and the approval itself. It returns the comment and the payment row; it writes the row in the decision's
 * transaction, the worker posts the comment, and the approval's follow-ups (ERP order, vendor notifications) run on
 * the worker's follow-up queue once the approval reached Pyrus.
 */
@Injectable()
export class PaymentApprovalHandler implements BotHandler<PaymentApprovalSettings, PaymentDraft> {
  readonly name = 'payment-approval';
  readonly settingsClass = PaymentApprovalSettings;

  constructor(
    private readonly register: FormRegisterSearch,
    private readonly followUps: PaymentFollowUps,
    @InjectDataSource() private readonly db: DataSource,
  ) {}

  async recordDecision(em: EntityManager, bot: BotOf, taskId: number, decision: CommentDecision<PaymentDraft>): Promise<void> {
    if (decision.record) await recordPayment(em, bot.config.name, taskId, decision.record, decision.reason);
  }

  followUpsOf(bot: BotOf<PaymentApprovalSettings>, taskId: number): Promise<FollowUp[]> {
    return this.followUps.of(bot, taskId);
  }

  runFollowUp(bot: BotOf<PaymentApprovalSettings>, followUp: FollowUp, options: { lastAttempt: boolean }): Promise<void> {
    return this.followUps.run(bot, followUp, options);
  }

  async onDecisionFailed(bot: BotOf, taskId: number, reason: string): Promise<void> {
    await returnApprovalToPending(this.db.manager, bot.config.name, taskId, reason);
  }

  async decide({ task, botUserId, settings, em, caller }: BotContext<PaymentApprovalSettings>): Promise<BotDecision<PaymentDraft>> {
    const payments = new PaymentHistory(em);
    const { invoice, missing } = readInvoice(task, settings);
    if (!invoice) {
      const text = (
        settings.texts?.missingFields ?? 'Cannot check this payment request: {fields} missing. Fill them in and send the task again.'
      ).replace('{fields}', missing.join(', '));
      return { kind: 'comment', comment: { text }, reason: `missing fields: ${missing.join(', ')}` };
    }
    const { supplierKey, supplierName, invoiceNumberNorm, invoiceDate, amount, currency, costCentre } = invoice;
    const draft: PaymentDraft = { formId: task.form_id, ...invoice, status: 'approved' };
    const window = settings.duplicateWindowDays ?? 30;

    // Requests the history does not hold yet (before the bot, or on another bot's watch) are in the form register.
    const inRegister = task.form_id
      ? await this.registerDuplicates(
          task,
          invoice,
          settings,
          (request) => this.register.search(caller, task.form_id!, request),
          payments,
          window,
        )
      : [];

    // One decider at a time per supplier (and cost centre): duplicates and budgets are checked against committed rows.
    const lockKeys = [`payments:${supplierKey}`, ...(costCentre ? [`payments:cc:${costCentre}`] : [])];
    const budgetScopeKey = settings.budget && (settings.budget.scope === 'supplier' ? supplierKey : costCentre);
    const {
      exact,
      probable,
      budget: standing,
    } = await payments.check({
      lockKeys,
      supplierKey,
      invoiceNumberNorm,
      amount,
      currency,
      invoiceDate,
      windowDays: window,
      taskId: task.id,
      budget: settings.budget && budgetScopeKey ? { ...settings.budget, scopeKey: budgetScopeKey } : undefined,
    });
    const registerExact = inRegister.filter((m) => m.exact);
    const registerProbable = inRegister.filter((m) => !m.exact);
    if (exact.length || probable.length || inRegister.length) {
      const lines = [
        ...[...exact, ...registerExact].map(
          (p) => `- ${taskLink(p.taskId)}: same supplier and invoice number "${p.invoiceNumber}" (${p.status})`,
        ),
        ...[...probable, ...registerProbable].map(
          (p) =>
            `- ${taskLink(p.taskId)}: same supplier, amount ${money(p.amount)} ${p.currency}, invoice date ${p.invoiceDate} (${p.status})`,
        ),
      ];
      const kind = exact.length || registerExact.length ? 'a duplicate' : 'a probable duplicate';
      const ids = [...exact, ...probable, ...inRegister].map((p) => p.taskId).join(', ');
      return this.sendBack(
        task,
        settings,
        `This request looks like ${kind} of an earlier one:\n${lines.join('\n')}`,
        draft,
        `duplicate of ${ids}`,
        botUserId,
      );
    }

    let budgetNote = '';
    if (settings.budget && standing) {
      const { scope, period } = settings.budget;
      const where = `${scope === 'supplier' ? `supplier ${supplierName}` : `cost centre ${costCentre}`}, ${periodName(period, invoiceDate)}`;
      const figures = `limit ${money(standing.limit)} ${currency}, already approved ${money(standing.used)}, this request ${money(amount)}`;
      if (standing.over) {
        return this.sendBack(
          task,
          settings,
          `Budget exceeded for ${where}: ${figures}; over by ${money(standing.over)} ${currency}.`,
          draft,
          `budget exceeded by ${standing.over} ${currency}`,
          botUserId,
        );
      }
      budgetNote = ` Budget for ${where}: ${figures}.`;
    }
    const text = (settings.texts?.approved ?? 'Approved: no duplicate payment found.{budget}').replace('{budget}', budgetNote);
    return { kind: 'comment', comment: { text, approval_choice: 'approved' }, reason: 'no duplicate, within budget', record: draft };
  }

  /**
   * The supplier's requests in the form register that the history does not know, compared here in normalised form:
   * the register's own filters compare values as typed, so none of them can tell that `ООО "Луч"` is `ООО «Луч»`.
   * Two searches, whose results are compared locally, find them however they were typed:
   * - by the supplier: its tax id as digits (a number-like value compares as a number, so `7701000002` finds
   *   `7701000002`) or as typed, or else its name as typed: a same-invoice request from any date;
   * - by the amount and the invoice date within the window: numbers and dates, which no spelling changes, so this
   *   finds the probable duplicates, and the exact ones of the same invoice, whatever the supplier's spelling.
   * Rejected ones do not count.
   */
  private async registerDuplicates(
    task: PyrusTask,
    invoice: Invoice,
    settings: PaymentApprovalSettings,
    search: (request: FormRegisterRequest) => Promise<PyrusTask[]>,
    payments: PaymentHistory,
    windowDays: number,
  ): Promise<Array<PastPayment & { exact: boolean }>> {
    if (!task.form_id) return [];
    const searches: FormRegisterRequest[] = [];
    const bySupplier = supplierFilter(task, invoice, settings);
    if (bySupplier) searches.push({ ...bySupplier, item_count: 500 });
    const amountField = findField(task, settings.fields.amount)?.field;
    const dateField = findField(task, settings.fields.invoiceDate)?.field;
    if (amountField && dateField) {
      // A day wider on each side: whether Pyrus's gt/lt include their bound is unconfirmed; the window is checked here.
      const dates = `gt${shiftDate(invoice.invoiceDate, -windowDays - 1)},lt${shiftDate(invoice.invoiceDate, windowDays + 1)}`;
      searches.push({ [`fld${amountField.id}`]: invoice.amount, [`fld${dateField.id}`]: dates, item_count: 500 } as FormRegisterRequest);
    }
    const found = new Map<number, PyrusTask>();
    for (const tasks of await Promise.all(searches.map((request) => search(request)))) {
      for (const t of tasks) if (t.id !== task.id) found.set(t.id, t);
    }
    const tasks = [...found.values()].sort((a, b) => a.id - b.id);
    const known = new Set(await payments.knownTaskIds(tasks.map((t) => t.id)));
    const matches: Array<PastPayment & { exact: boolean }> = [];
    for (const other of tasks) {
      if (known.has(other.id) || wasRejected(other)) continue;
      const theirs = readInvoice(other, settings).invoice;
      if (!theirs || theirs.supplierKey !== invoice.supplierKey) continue;
      const exact = theirs.invoiceNumberNorm === invoice.invoiceNumberNorm;
      const probable =
        theirs.amount === invoice.amount &&
        theirs.currency === invoice.currency &&
        daysApart(theirs.invoiceDate, invoice.invoiceDate) <= windowDays;
      if (exact || probable) {
        matches.push({
          taskId: other.id,
          invoiceNumber: theirs.invoiceNumber,
          invoiceDate: theirs.invoiceDate,
          amount: theirs.amount,
          currency: theirs.currency,
          status: 'in the register',
          exact,
        });
      }
    }
    return matches;
  }

  /**
   * Sends the request back with the reason as the comment: to the previous stage (the default, as Pyrus describes its
   * budget bot: it "reports this and returns the request to the previous stage"), or rejected (`returnTo: "reject"`).
   * The previous stage is the nearest earlier step with a person on it, asked again for approval; a step of bots only
   * is passed over, since a bot would only decide the same again. With no such step (the bot is on the first step)
   * the request is rejected and the comment says why.
   */
  private sendBack(
    task: PyrusTask,
    settings: PaymentApprovalSettings,
    why: string,
    draft: PaymentDraft,
    reason: string,
    botUserId?: number,
  ): BotDecision<PaymentDraft> {
    const returned = settings.texts?.returned ? `\n${settings.texts.returned}` : '';
    const payment: PaymentDraft = { ...draft, status: 'rejected' };
    if (returnToOf(settings) === 'previous-step') {
      const previous = previousPersonStep(task, botUserId);
      if (previous) {
        const rerequested: PersonRef[][] = Array.from({ length: previous.step }, () => []);
        rerequested[previous.step - 1] = previous.people.map((p) => ({ id: p.id }));
        const text = `${why}\nReturned to step ${previous.step} (${previous.people.map(personName).join(', ')}).${returned}`;
        return {
          kind: 'comment',
          comment: { text, approvals_rerequested: rerequested },
          reason: `${reason}; returned to step ${previous.step}`,
          record: payment,
        };
      }
      const text = `${why}\nRejected: there is no earlier stage to return this request to.${returned}`;
      return {
        kind: 'comment',
        comment: { text, approval_choice: 'rejected' },
        reason: `${reason}; no earlier stage, rejected`,
        record: payment,
      };
    }
    const comment: TaskCommentRequest = { text: `${why}${returned}`, approval_choice: 'rejected' };
    return { kind: 'comment', comment, reason, record: payment };
  }
}

/** `returnTo` as one of its two meanings; "rerequest-previous-step", its earlier name, means "previous-step". */
function returnToOf(settings: PaymentApprovalSettings): 'previous-step' | 'reject' {
  return settings.returnTo === 'reject' ? 'reject' : 'previous-step';
}

/** The nearest step before the current one with a person (not a bot, not this bot) on it, and those persons. */
export function previousPersonStep(task: PyrusTask, botUserId?: number): { step: number; people: PyrusPerson[] } | undefined {
  const current = task.current_step ?? 1;
  for (let step = current - 1; step >= 1; step -= 1) {
    const people = (task.approvals?.[step - 1] ?? []).map((a) => a.person).filter((p) => p && p.type !== 'bot' && p.id !== botUserId);
    if (people.length) return { step, people };
  }
  return undefined;
}

function personName(person: PyrusPerson): string {
  const name = [person.first_name, person.last_name].filter(Boolean).join(' ');
  return name || `user ${person.id}`;
}

export interface Invoice {
  supplierKey: string;
  supplierName: string;
  invoiceNumber: string;
  invoiceNumberNorm: string;
  invoiceDate: string;
  amount: string;
  currency: string;
  costCentre?: string;
  vendorEmail?: string;
  vendorPhone?: string;
}

/** Reads the invoice of a payment request; `missing` names the required fields that are empty. */
export function readInvoice(task: PyrusTask, settings: PaymentApprovalSettings): { invoice?: Invoice; missing: string[] } {
  const field = (key: keyof PaymentFieldMap) =>
    settings.fields[key] === undefined ? undefined : findField(task, settings.fields[key])?.field;
  const missing = REQUIRED.filter(([key]) => isEmpty(key === 'amount' ? readMoney(field(key)) : readLabel(field(key)))).map(
    ([, label]) => label,
  );
  if (missing.length) return { missing };
  const supplierName = readLabel(field('supplier'))!;
  const taxId = normaliseTaxId(readLabel(field('supplierTaxId')) ?? '');
  const invoiceNumber = readLabel(field('invoiceNumber'))!;
  return {
    missing,
    invoice: {
      supplierKey: taxId ? `tax:${taxId}` : `name:${normaliseName(supplierName)}`,
      supplierName,
      invoiceNumber,
      invoiceNumberNorm: normaliseInvoiceNumber(invoiceNumber),
      invoiceDate: readDate(field('invoiceDate')) as string,
      amount: Number(readMoney(field('amount'))).toFixed(2),
      currency: (readLabel(field('currency')) ?? settings.defaultCurrency!).toUpperCase(),
      costCentre: readLabel(field('costCentre')),
      vendorEmail: readLabel(field('vendorEmail')),
      vendorPhone: readLabel(field('vendorPhone')),
    },
  };
}

/** A field's value as one line of text: text as is, a catalog item's first column, a choice's name, a number. */
function readLabel(field: PyrusField | undefined): string | undefined {
  if (!field || field.value === undefined || field.value === null) return undefined;
  const value: unknown = readFieldValue(field);
  if (typeof value === 'string') return value.trim() || undefined;
  if (typeof value === 'number') return String(value);
  const catalog = value as { rows?: string[][] };
  if (Array.isArray(catalog?.rows) && catalog.rows[0]?.length) return catalog.rows[0][0];
  const choice = value as { choiceNames?: string[] };
  if (Array.isArray(choice?.choiceNames) && choice.choiceNames.length) return choice.choiceNames[0];
  return undefined;
}

/**
 * The register filter that finds the supplier's requests: the tax id as digits, or as typed too when that differs (an
 * in-list filter, each compared whole), or else the name as typed (compared by prefix).
 */
function supplierFilter(task: PyrusTask, invoice: Invoice, settings: PaymentApprovalSettings): Record<string, string> | undefined {
  if (invoice.supplierKey.startsWith('tax:') && settings.fields.supplierTaxId !== undefined) {
    const field = findField(task, settings.fields.supplierTaxId)?.field;
    const typed = readLabel(field);
    if (!field || !typed) return undefined;
    const digits = invoice.supplierKey.slice('tax:'.length);
    const spellings = typed === digits || typed.includes(',') ? [digits] : [digits, typed];
    return { [`fld${field.id}`]: spellings.join(',') };
  }
  const field = findField(task, settings.fields.supplier)?.field;
  const typed = readLabel(field);
  return field && typed ? { [`fld${field.id}`]: typed } : undefined;
}

/** "2024-03-01" plus `days` (negative: minus), as a date. */
function shiftDate(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

const isEmpty = (v: unknown) => v === undefined || v === null || v === '';

const wasRejected = (task: PyrusTask) => (task.approvals ?? []).some((step) => step.some((a) => a.approval_choice === 'rejected'));

function daysApart(a: string, b: string): number {
  return Math.abs(Date.parse(a) - Date.parse(b)) / 86_400_000;
}

/** 1234567.5 -> "1 234 567.50" */
function money(value: string): string {
  const [whole, cents = '00'] = Number(value).toFixed(2).split('.');
  return `${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ' ')}.${cents}`;
}

function periodName(period: BudgetPeriod, day: string): string {
  const [year, month] = day.split('-').map(Number);
  if (period === 'year') return `${year}`;
  if (period === 'quarter') return `${year}-Q${Math.ceil(month / 3)}`;
  return `${year}-${String(month).padStart(2, '0')}`;
}
