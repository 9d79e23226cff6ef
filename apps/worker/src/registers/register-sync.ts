import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { DataSource } from 'typeorm';
import { botCredentials, BotRegistry, RegisterCopySpec } from '@app/bots';
import { BotConfig } from '@app/config';
import { withTryAdvisoryLock } from '@app/database';
import { errorMessage } from '@app/observability';
import { FormRegisterRequest, PyrusCaller, PyrusClient, PyrusTask } from '@app/pyrus';

/** One register sync at a time across all workers (and the CLI); a fixed arbitrary advisory-lock id. */
const REGISTER_SYNC_LOCK_ID = 727_004;
/** The register's hard limit per call: a read that returns this many goes on after the last task id. */
export const REGISTER_PAGE = 20_000;
/**
 * An incremental read asks for the tasks modified since the last pass began, less this: it covers a task whose change
 * Pyrus's register shows a little late, and a clock here a little ahead of Pyrus's. A task read twice is only
 * written twice.
 */
export const REGISTER_OVERLAP_MS = 2 * 60_000;
/** A full pass also runs when the last one is older than this: an incremental read never sees a deleted task. */
export const FULL_PASS_EVERY_MS = 24 * 3600_000;

export interface FormSyncResult {
  formId: number;
  bot: string;
  full: boolean;
  /** Register tasks read (all of them in a full pass, those modified since the last pass otherwise). */
  read: number;
  error?: string;
}

export interface RegisterSyncResult {
  /** False when another worker (or the CLI) held the sync lock, so nothing was done. */
  ran: boolean;
  forms: FormSyncResult[];
}

/** A form's copy as the age gauge reports it. */
export interface RegisterCopyAge {
  formId: number;
  /** Seconds since the moment the copy is complete up to (the start of its last successful pass). */
  ageSeconds: number;
}

/**
 * Keeps the local copies of the form registers that handlers declare (BotHandler.registerCopyOf): the payment bots'
 * duplicate check reads the copy instead of searching the register on every decision. Each form is read as the first
 * bot configured with it. A pass is a full read of the register (at a worker's first pass, once a day, or on demand),
 * or one read of the tasks modified since the last pass began; either is written in one transaction with the form's
 * row in `register_syncs`, so a reader sees a copy and its age that belong together. One form's failure does not
 * stop the others; the next pass tries it again.
 */
@Injectable()
export class RegisterSync {
  /** Forms this process has made a full pass of: a worker's first pass of each form is a full one. */
  private readonly fullPassDone = new Set<number>();

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly bots: BotRegistry,
    private readonly pyrus: PyrusClient,
    @InjectPinoLogger(RegisterSync.name) private readonly logger: PinoLogger,
  ) {}

  /** The copies the configured bots need, one per form, each with the first bot configured with that form. */
  copies(): Array<{ bot: BotConfig; spec: RegisterCopySpec }> {
    const byForm = new Map<number, { bot: BotConfig; spec: RegisterCopySpec }>();
    for (const bot of this.bots.all()) {
      const spec = this.bots.handlerOf(bot).registerCopyOf?.(this.bots.botOf(bot));
      if (spec && !byForm.has(spec.formId)) byForm.set(spec.formId, { bot, spec });
    }
    return [...byForm.values()];
  }

  /** Brings every copy up to date; `full` reads each register whole. Returns ran: false when another sync holds the lock. */
  async syncAll(options: { full?: boolean; formId?: number } = {}): Promise<RegisterSyncResult> {
    const copies = this.copies().filter(({ spec }) => options.formId === undefined || spec.formId === options.formId);
    if (!copies.length) return { ran: true, forms: [] };
    const done = await withTryAdvisoryLock(this.db, REGISTER_SYNC_LOCK_ID, async () => {
      const forms: FormSyncResult[] = [];
      for (const { bot, spec } of copies) forms.push(await this.syncForm(bot, spec, options.full ?? false));
      return forms;
    });
    if (!done) {
      this.logger.debug('Another worker is syncing the registers');
      return { ran: false, forms: [] };
    }
    return { ran: true, forms: done.value };
  }

  /** Each synced form's copy age, for the gauge. */
  async ages(): Promise<RegisterCopyAge[]> {
    const rows: Array<{ form_id: string; age: number }> = await this.db.query(
      `SELECT form_id, extract(epoch FROM now() - synced_as_of)::float8 AS age FROM register_syncs WHERE synced_as_of IS NOT NULL`,
    );
    return rows.map((r) => ({ formId: Number(r.form_id), ageSeconds: Math.max(0, Number(r.age)) }));
  }

  private async syncForm(bot: BotConfig, spec: RegisterCopySpec, fullAsked: boolean): Promise<FormSyncResult> {
    const { formId } = spec;
    const startedAt = new Date();
    const caller: PyrusCaller = { bot: botCredentials(bot), context: { bot: bot.name } };
    const [state]: Array<{ synced_as_of: Date | null; full_pass_at: Date | null }> = await this.db.query(
      'SELECT synced_as_of, full_pass_at FROM register_syncs WHERE form_id = $1',
      [formId],
    );
    const full =
      fullAsked ||
      !this.fullPassDone.has(formId) ||
      !state?.synced_as_of ||
      !state.full_pass_at ||
      startedAt.getTime() - state.full_pass_at.getTime() > FULL_PASS_EVERY_MS;
    const result: FormSyncResult = { formId, bot: bot.name, full, read: 0 };
    try {
      const request: FormRegisterRequest = { include_archived: 'y', item_count: REGISTER_PAGE };
      if (!full) request.modified_after = pyrusTime(state.synced_as_of!.getTime() - REGISTER_OVERLAP_MS);
      const tasks = await this.readRegister(caller, formId, request);
      result.read = tasks.length;
      await this.db.transaction(async (em) => {
        await spec.store(em, tasks);
        if (full)
          await spec.keepOnly(
            em,
            tasks.map((t) => t.id),
          );
        await em.query(
          `INSERT INTO register_syncs (form_id, bot, synced_as_of, full_pass_at, succeeded_at, tasks_read, last_error, last_error_at, updated_at)
           VALUES ($1, $2, $3, CASE WHEN $4 THEN $3::timestamptz END, now(), $5, NULL, NULL, now())
           ON CONFLICT (form_id) DO UPDATE SET bot = excluded.bot, synced_as_of = excluded.synced_as_of,
             full_pass_at = CASE WHEN $4 THEN excluded.full_pass_at ELSE register_syncs.full_pass_at END,
             succeeded_at = now(), tasks_read = excluded.tasks_read, last_error = NULL, last_error_at = NULL, updated_at = now()`,
          [formId, bot.name, startedAt, full, tasks.length],
        );
      });
      if (full) this.fullPassDone.add(formId);
      // A full pass is news (at start, daily, on demand); the incremental one every interval is not.
      const log = { formId, bot: bot.name, full, read: tasks.length };
      if (full) this.logger.info(log, 'Register copy made by a full pass');
      else this.logger.debug(log, 'Register copy brought up to date');
    } catch (err) {
      result.error = errorMessage(err);
      this.logger.warn(
        { formId, bot: bot.name, full, err: result.error },
        'Could not bring the register copy up to date; the next pass tries again',
      );
      await this.db
        .query(
          `INSERT INTO register_syncs (form_id, bot, last_error, last_error_at) VALUES ($1, $2, $3, now())
           ON CONFLICT (form_id) DO UPDATE SET last_error = excluded.last_error, last_error_at = now(), updated_at = now()`,
          [formId, bot.name, result.error],
        )
        .catch(() => undefined);
    }
    return result;
  }

  /**
   * Every task the request selects: one call, or, when the answer is full, more calls for the tasks after the last id
   * read. A register that does not page that way (the same tasks again) fails the pass: a copy missing part of the
   * register would hide duplicates, and without a fresh copy the duplicate check searches the register instead.
   */
  private async readRegister(caller: PyrusCaller, formId: number, request: FormRegisterRequest): Promise<PyrusTask[]> {
    const tasks = new Map<number, PyrusTask>();
    let after: number | undefined;
    for (;;) {
      const page = (await this.pyrus.getFormRegister(caller, formId, after === undefined ? request : { ...request, id: `gt${after}` }))
        .tasks;
      for (const task of page) tasks.set(task.id, task);
      if (page.length < REGISTER_PAGE) break;
      const last = Math.max(...page.map((t) => t.id));
      if (after !== undefined && last <= after)
        throw new Error(`the register answered ${REGISTER_PAGE} tasks again after task ${after}: it cannot be read whole`);
      after = last;
    }
    return [...tasks.values()];
  }
}

/** A time as Pyrus's register filters take it: UTC, to the second. */
function pyrusTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
