import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { botCredentials, BotRegistry } from '../bot-registry.service';
import { InvoiceSettings, readInvoice } from './invoice';
import { PyrusClient, PyrusTask } from '@app/pyrus';

export interface BackfillResult {
  read: number;
  imported: number;
  /** Already in the history (decided by the bot, or an earlier backfill). */
  known: number;
  /** Register tasks whose invoice fields are incomplete. */
  incomplete: number;
}

/** The register's hard limit per call. */
const REGISTER_MAX = 20000;

/**
 * Imports a payment bot's form register into the payment history, so the first day's duplicate and budget checks
 * already know earlier invoices. Rows the bot decided are left as they are. Run by the one-off commands
 * (apps/worker/src/commands), which provide it.
 */
@Injectable()
export class BackfillService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly bots: BotRegistry,
    private readonly pyrus: PyrusClient,
  ) {}

  async backfill(botName: string, options: { formId?: number; since?: string } = {}): Promise<BackfillResult> {
    const bot = this.bots.get(botName);
    const settings = this.bots.settingsOf(bot);
    if (!(settings instanceof InvoiceSettings)) throw new Error(`Bot "${botName}" is not a payment bot: it reads no invoice fields`);
    const formId = options.formId ?? settings.formId;
    if (!formId) throw new Error(`Name the form: --form ID, or "formId" in the settings of bot "${botName}"`);
    const { tasks } = await this.pyrus.getFormRegister({ bot: botCredentials(bot) }, formId, {
      item_count: REGISTER_MAX,
      include_archived: 'y',
      ...(options.since ? { created_after: `${options.since}T00:00:00Z` } : {}),
    });
    const result: BackfillResult = { read: tasks.length, imported: 0, known: 0, incomplete: 0 };
    for (const task of tasks) {
      const { invoice } = readInvoice(task, settings);
      if (!invoice) {
        result.incomplete += 1;
        continue;
      }
      const inserted: unknown[] = await this.db.query(
        `INSERT INTO payments (bot, task_id, form_id, supplier_key, supplier_name, invoice_number, invoice_number_norm,
                               invoice_date, amount, currency, cost_centre, status, decision_reason, decided_at, source)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'imported from the form register', coalesce($13::timestamptz, now()), 'backfill')
         ON CONFLICT (task_id) DO NOTHING RETURNING id`,
        [
          bot.name,
          task.id,
          formId,
          invoice.supplierKey,
          invoice.supplierName,
          invoice.invoiceNumber,
          invoice.invoiceNumberNorm,
          invoice.invoiceDate,
          invoice.amount,
          invoice.currency,
          invoice.costCentre ?? null,
          statusOf(task),
          decidedAtOf(task),
        ],
      );
      if (inserted.length) result.imported += 1;
      else result.known += 1;
    }
    return result;
  }
}

/** When the people in Pyrus decided: the task's closing, else its last change (the admin API lists payments by it). */
function decidedAtOf(task: PyrusTask): string | null {
  return task.close_date ?? task.last_modified_date ?? task.create_date ?? null;
}

/** What a register task says about its payment: rejected by anyone, approved once closed or fully approved. */
function statusOf(task: PyrusTask): 'approved' | 'rejected' | 'pending' {
  const steps = task.approvals ?? [];
  if (steps.some((step) => step.some((a) => a.approval_choice === 'rejected'))) return 'rejected';
  if (task.close_date || (steps.length > 0 && steps.every((step) => step.every((a) => a.approval_choice === 'approved'))))
    return 'approved';
  return 'pending';
}
