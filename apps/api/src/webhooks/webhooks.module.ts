import { MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { BotsModule } from '@app/bots';
import { QueueModule } from '@app/queue';
import { RawBodyMiddleware } from './raw-body.middleware';
import { SignatureGuard } from './signature.guard';
import { WebhookIntakeService } from './webhook-intake.service';
import { WebhooksController } from './webhooks.controller';

@Module({
  imports: [BotsModule, QueueModule],
  controllers: [WebhooksController],
  providers: [WebhookIntakeService, SignatureGuard],
})
export class WebhooksModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RawBodyMiddleware).forRoutes({ path: 'bots/:bot/webhook', method: RequestMethod.POST });
  }
}
