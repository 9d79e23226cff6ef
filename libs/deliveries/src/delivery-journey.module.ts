import { Module } from '@nestjs/common';
import { QueueModule } from '@app/queue';
import { DeliveryJourney } from './delivery-journey.service';

/** A delivery's way from stored to queued, for the api (intake, replay) and the worker (sweeps, reconciliation). */
@Module({
  imports: [QueueModule],
  providers: [DeliveryJourney],
  exports: [DeliveryJourney],
})
export class DeliveryJourneyModule {}
