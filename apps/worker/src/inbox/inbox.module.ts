import { Module } from '@nestjs/common';
import { BotsModule } from '@app/bots';
import { PyrusModule } from '@app/pyrus';
import { DeliveryJourneyModule } from '@app/deliveries';
import { InboxSweeper } from './inbox.sweeper';

/** Catch-up: reads the bots' inboxes for tasks whose webhook never arrived. */
@Module({
  imports: [BotsModule, PyrusModule, DeliveryJourneyModule],
  providers: [InboxSweeper],
  exports: [InboxSweeper],
})
export class InboxModule {}
