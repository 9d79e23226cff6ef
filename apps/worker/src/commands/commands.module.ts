import { DynamicModule, Module } from '@nestjs/common';
import { AppConfigModule } from '@app/config';
import { BackfillService, BotsModule, BudgetSeedService } from '@app/bots';
import { DatabaseModule } from '@app/database';
import { LoggingModule } from '@app/observability';
import { PyrusModule } from '@app/pyrus';
import { RegisterSync } from '../registers/register-sync';

/** What the one-off commands need: config, database, bots and the Pyrus client; no queue processors, no timers. */
@Module({})
export class CommandsModule {
  static forRoot(env: Record<string, string | undefined> = process.env): DynamicModule {
    return {
      module: CommandsModule,
      imports: [AppConfigModule.forRoot(env), LoggingModule.forRoot(), DatabaseModule, BotsModule, PyrusModule],
      providers: [BackfillService, BudgetSeedService, RegisterSync],
    };
  }
}
