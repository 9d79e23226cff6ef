import { Inject, Logger, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AppConfiguration } from '@app/config';
import { ERP_CALL_OBSERVER, ErpCallObserver } from './erp/erp-call.observer';
import { createErpCircuitBreaker, ErpClient } from './erp/erp.client';
import { EmailNotifier } from './notifications/email.notifier';
import { SmsNotifier } from './notifications/sms.notifier';

type Config = ConfigService<AppConfiguration, true>;

/**
 * The ERP client (behind its circuit breaker) and the notifiers, built from the `integrations` config. Each is always
 * provided, so that it can be injected by class; one whose URL is not set is disabled (`enabled === false`) and fails
 * every call, which lets a bot's settings be checked against them at boot. Needs the global AppConfigModule.
 */
@Module({
  providers: [
    {
      // The worker provides an observer (metrics, call log); elsewhere calls go unobserved.
      provide: ErpClient,
      inject: [ConfigService, { token: ERP_CALL_OBSERVER, optional: true }],
      useFactory: (config: Config, observer?: ErpCallObserver) => {
        const erp = config.get('integrations', { infer: true }).erp;
        if (!erp) return new ErpClient(null);
        // Nest's Logger: the apps route it through pino. The breaker's state is per process (see CircuitBreaker).
        const logger = new Logger('ErpCircuitBreaker');
        const breaker = createErpCircuitBreaker({
          failureThreshold: erp.breakerThreshold,
          cooldownMs: erp.breakerCooldownMs,
          onStateChange: (to, from) => {
            const line = `ERP circuit breaker ${from} -> ${to}`;
            if (to === 'open') logger.warn(`${line}: ERP calls fail fast for ${erp.breakerCooldownMs} ms`);
            else logger.log(line);
          },
        });
        return new ErpClient(erp, { breaker, observer });
      },
    },
    {
      provide: EmailNotifier,
      inject: [ConfigService],
      useFactory: (config: Config) => new EmailNotifier(config.get('integrations', { infer: true }).email),
    },
    {
      provide: SmsNotifier,
      inject: [ConfigService],
      useFactory: (config: Config) => new SmsNotifier(config.get('integrations', { infer: true }).sms),
    },
  ],
  exports: [ErpClient, EmailNotifier, SmsNotifier],
})
export class IntegrationsModule implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Integrations');

  constructor(
    @Inject(ErpClient) private readonly erp: ErpClient,
    @Inject(EmailNotifier) private readonly email: EmailNotifier,
    @Inject(SmsNotifier) private readonly sms: SmsNotifier,
  ) {}

  onModuleInit(): void {
    // Which integrations are on; never their URLs, which may carry credentials.
    const on = (enabled: boolean) => (enabled ? 'on' : 'off');
    this.logger.log(`ERP ${on(this.erp.enabled)}, e-mail ${on(this.email.enabled)}, SMS ${on(this.sms.enabled)}`);
  }

  onApplicationShutdown(): void {
    this.email.close();
  }
}
