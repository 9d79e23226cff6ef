import { Module } from '@nestjs/common';
import { QueueModule } from '@app/queue';
import { DeliveryJourney } from './delivery-journey.service';
import { InlineReplies } from './inline-replies';

/** A delivery's way from stored to queued, for the api (intake, replay) and the worker (sweeps, reconciliation). */
@Module({
  imports: [QueueModule],
  providers: [DeliveryJourney, InlineReplies],
  exports: [DeliveryJourney, InlineReplies],
})
export class DeliveryJourneyModule {}
