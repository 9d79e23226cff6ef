import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { BackfillService, BudgetSeedService } from '@app/bots';
import { RegisterSync } from '../registers/register-sync';
import { CommandsModule } from './commands.module';
import { errorMessage } from '@app/observability';

const USAGE = `usage:
  npm run backfill -- --bot NAME [--form ID] [--since YYYY-MM-DD]   import a bot's form register into its history
  npm run budgets:seed -- FILE.json                                  load budget limits
  npm run register:sync -- [--form ID]                               read the payment forms' registers whole into their local copy`;

/** One-off commands: `backfill`, `budgets:seed` and `register:sync`. */
async function main() {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { bot: { type: 'string' }, form: { type: 'string' }, since: { type: 'string' } },
  });
  const [command, ...rest] = positionals;
  const logger = new Logger(command ?? 'commands');
  if (command !== 'backfill' && command !== 'budgets:seed' && command !== 'register:sync') throw new Error(USAGE);
  if (values.since && !/^\d{4}-\d{2}-\d{2}$/.test(values.since)) throw new Error('--since takes a date, YYYY-MM-DD');
  const app = await NestFactory.createApplicationContext(CommandsModule.forRoot(), { logger: ['error', 'warn', 'log'] });
  try {
    if (command === 'backfill') {
      if (!values.bot) throw new Error(USAGE);
      const result = await app
        .get(BackfillService)
        .backfill(values.bot, { formId: values.form ? Number(values.form) : undefined, since: values.since });
      logger.log(
        `read ${result.read} register tasks: ${result.imported} imported, ${result.known} already known, ${result.incomplete} incomplete`,
      );
    } else if (command === 'register:sync') {
      const result = await app.get(RegisterSync).syncAll({ full: true, formId: values.form ? Number(values.form) : undefined });
      if (!result.ran) throw new Error('A worker is syncing the registers right now; run the command again in a moment');
      if (!result.forms.length) logger.log('No bot keeps a register copy (a duplicate-check or payment-approval bot with "formId")');
      for (const form of result.forms) {
        if (form.error) throw new Error(`form ${form.formId} (as bot ${form.bot}): ${form.error}`);
        logger.log(`form ${form.formId} (as bot ${form.bot}): read ${form.read} register tasks, a full pass`);
      }
    } else {
      if (!rest[0]) throw new Error(USAGE);
      logger.log(`${await app.get(BudgetSeedService).seedFile(rest[0])} budget limits loaded`);
    }
  } finally {
    await app.close();
  }
}

main().catch((err) => {
  new Logger('commands').error(errorMessage(err));
  process.exit(1);
});
