import { MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { AccessLogMiddleware, HttpRoute } from '@app/observability';
import { BotsModule } from '@app/bots';
import { DeliveryJourneyModule } from '@app/deliveries';
import { RawBodyMiddleware } from './raw-body.middleware';
import { SignatureGuard } from './signature.guard';
import { WebhookIntakeService } from './webhook-intake.service';
import { WebhooksController } from './webhooks.controller';

/** Pyrus's deliveries: the one route on the hot path. */
export const WEBHOOK_ROUTE: HttpRoute = { path: 'bots/:bot/webhook', method: RequestMethod.POST };

@Module({
  imports: [BotsModule, DeliveryJourneyModule],
  controllers: [WebhooksController],
  providers: [WebhookIntakeService, SignatureGuard],
})
export class WebhooksModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    // Its own request line: the api leaves this route out of pino-http (see ApiModule).
    consumer.apply(AccessLogMiddleware, RawBodyMiddleware).forRoutes(WEBHOOK_ROUTE);
  }
}
