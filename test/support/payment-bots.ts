import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INestApplication } from '@nestjs/common';
import { PyrusTask } from '@app/pyrus';
import { PyrusEmulator } from '../../apps/pyrus-emulator/src';
import { INVOICE_FORM_FIELDS } from './invoice-task';
import { sendSigned } from './stack';

/** A payment bot with its own settings, for a spec that needs settings the shared fixture's bots lack. */
export interface PaymentBot {
  name: string;
  userId: number;
  /** `payment-approval` unless named. */
  handler?: 'payment-approval' | 'duplicate-check' | 'budget-check' | 'payment-order';
  /** Merged over the fields of invoice-task.ts's form. */
  settings: Record<string, unknown>;
}

const keyOf = (bot: PaymentBot) => `${bot.name}-key`;

/**
 * Writes a bots file holding these bots (pass it as BOTS_FILE to the service) and returns its path. Each bot's login
 * and key are made from its name, as `addPaymentBotsTo` tells the emulator.
 */
export function paymentBotsFile(bots: PaymentBot[]): string {
  const file = join(mkdtempSync(join(tmpdir(), 'payment-bots-')), 'bots.json');
  const config = {
    bots: bots.map((bot) => ({
      name: bot.name,
      login: `bot@test-${bot.name}`,
      securityKeys: [keyOf(bot)],
      handler: bot.handler ?? 'payment-approval',
      settings: { fields: INVOICE_FORM_FIELDS, ...bot.settings },
    })),
  };
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/** Makes the emulator know the bots (their logins, keys and user ids), so it issues them tokens and takes their comments. */
export function addPaymentBotsTo(pyrus: PyrusEmulator, bots: PaymentBot[]): void {
  for (const bot of bots) pyrus.addBot({ name: bot.name, login: `bot@test-${bot.name}`, securityKey: keyOf(bot), userId: bot.userId });
}

/** Pyrus's webhook for `bot` with the task as it stands, signed with the bot's key. */
export function deliverTo(api: INestApplication, pyrus: PyrusEmulator, bot: PaymentBot, task: PyrusTask) {
  const body = JSON.stringify({ event: 'comment', access_token: pyrus.issueToken(bot.name), task_id: task.id, user_id: bot.userId, task });
  return sendSigned(api, bot.name, body, keyOf(bot)).expect(200);
}

/**
 * Tax ids no other test (or earlier run) uses, so a budget or the history counts only what one test made: a prefix of
 * the spec's own, the run's tag, and a counter. `budgetKeys` lists the budget scope keys of those handed out, for the
 * spec's clean-up.
 */
export function freshTaxIds(prefix: string, digits = 3) {
  const runTag = String(Date.now() % 1_000_000).padStart(6, '0');
  let next = 1;
  const budgetKeys: string[] = [];
  return {
    runTag,
    budgetKeys,
    next(): string {
      const inn = `${prefix}${runTag}${String(next++).padStart(digits, '0')}`;
      budgetKeys.push(`tax:${inn}`);
      return inn;
    },
  };
}
