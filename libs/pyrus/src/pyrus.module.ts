import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AppConfiguration } from '@app/config';
import { QueueModule, RedisService } from '@app/queue';
import { BotTokenStore } from './bot-token.store';
import { PyrusClient } from './pyrus.client';
import { PyrusHttpClient } from './pyrus-http.client';
import { QuotaLimiter } from './quota-limiter';

/** Share of each quota window that reads leave to decisions. */
const DECISION_RESERVE = 0.1;

@Module({
  imports: [QueueModule],
  providers: [
    {
      provide: QuotaLimiter,
      inject: [RedisService, ConfigService],
      useFactory: (redis: RedisService, config: ConfigService<AppConfiguration, true>) => {
        const { quotaLimit, quotaWindowMs } = config.get('pyrus', { infer: true });
        return new QuotaLimiter(redis.client, (...p) => redis.key(...p), { limit: quotaLimit, windowMs: quotaWindowMs, decisionReserve: DECISION_RESERVE });
      },
    },
    {
      provide: PyrusClient,
      inject: [RedisService, QuotaLimiter, ConfigService],
      useFactory: (redis: RedisService, quota: QuotaLimiter, config: ConfigService<AppConfiguration, true>) => {
        const settings = config.get('pyrus', { infer: true });
        // The token store signs in through the client; the client reads tokens from the store.
        let client: PyrusHttpClient;
        const tokens = new BotTokenStore(redis.client, (...p) => redis.key(...p), (bot) => client.authenticate(bot));
        client = new PyrusHttpClient(settings, tokens, quota);
        return client;
      },
    },
  ],
  exports: [PyrusClient, QuotaLimiter],
})
export class PyrusModule {}
