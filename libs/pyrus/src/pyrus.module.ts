import { Module } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ConfigService } from '@nestjs/config';
import { AppConfiguration } from '@app/config';
import { QueueModule, RedisService } from '@app/queue';
import { BotTokenStore } from './bot-token.store';
import { PYRUS_CALL_OBSERVER, PyrusCallObserver } from './pyrus-call.observer';
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
        const { quotaLimit, quotaWindowMs, quotaScope } = config.get('pyrus', { infer: true });
        return new QuotaLimiter(redis.client, (...p) => redis.key(...p), {
          limit: quotaLimit,
          windowMs: quotaWindowMs,
          scope: quotaScope,
          decisionReserve: DECISION_RESERVE,
        });
      },
    },
    {
      // Signs in through the client below; the client reads tokens from it. Resolved lazily to break the cycle.
      provide: BotTokenStore,
      inject: [RedisService, ModuleRef],
      useFactory: (redis: RedisService, moduleRef: ModuleRef) =>
        new BotTokenStore(
          redis.client,
          (...p) => redis.key(...p),
          (bot) => moduleRef.get(PyrusClient).authenticate(bot),
        ),
    },
    {
      // The worker provides an observer (metrics, call log); without one (the commands) calls go unobserved.
      provide: PyrusClient,
      inject: [BotTokenStore, QuotaLimiter, ConfigService, { token: PYRUS_CALL_OBSERVER, optional: true }],
      useFactory: (
        tokens: BotTokenStore,
        quota: QuotaLimiter,
        config: ConfigService<AppConfiguration, true>,
        observer?: PyrusCallObserver,
      ) => new PyrusHttpClient(config.get('pyrus', { infer: true }), tokens, quota, observer),
    },
  ],
  exports: [PyrusClient, QuotaLimiter, BotTokenStore],
})
export class PyrusModule {}
