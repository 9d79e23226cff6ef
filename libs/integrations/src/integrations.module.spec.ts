import { resolve } from 'node:path';
import { Test } from '@nestjs/testing';
import { AppConfigModule } from '@app/config';
import { ErpClient } from './erp/erp.client';
import { IntegrationsModule } from './integrations.module';
import { EmailNotifier } from './notifications/email.notifier';
import { SmsNotifier } from './notifications/sms.notifier';
import { RecordingHttpServer } from './testing/recording-http-server';

const BASE_ENV = { BOTS_FILE: resolve(__dirname, '../../../test/fixtures/bots.test.json'), TEST_BOT_KEY: 'k', LOG_LEVEL: 'silent' };

/** Nest's log lines, kept instead of printed. */
const lines: string[] = [];
const capture = (message: unknown) => void lines.push(String(message));
const logger = { log: capture, error: capture, warn: capture, debug: capture, verbose: capture, fatal: capture };

async function boot(env: Record<string, string>) {
  const moduleRef = await Test.createTestingModule({ imports: [AppConfigModule.forRoot({ ...BASE_ENV, ...env }), IntegrationsModule] })
    .setLogger(logger)
    .compile();
  await moduleRef.init();
  return moduleRef;
}

describe('IntegrationsModule', () => {
  beforeEach(() => {
    lines.length = 0;
  });

  it('provides disabled clients when nothing is configured', async () => {
    const app = await boot({});
    expect(lines).toContain('ERP off, e-mail off, SMS off');
    expect(app.get(ErpClient).enabled).toBe(false);
    expect(app.get(EmailNotifier).enabled).toBe(false);
    expect(app.get(SmsNotifier).enabled).toBe(false);
    await app.close();
  });

  it('builds the ERP client with its breaker and the notifiers from the environment', async () => {
    const erpServer = await RecordingHttpServer.start();
    erpServer.always({ status: 503, body: {} });
    const app = await boot({
      ERP_URL: erpServer.url,
      ERP_AUTH_VALUE: 'Bearer t0ken-value',
      ERP_RETRIES: '0',
      ERP_BREAKER_THRESHOLD: '2',
      SMTP_URL: 'smtp://u:p@127.0.0.1:2525',
      SMTP_FROM: 'payments@example.com',
      SMS_GATEWAY_URL: 'http://127.0.0.1:9/sms',
    });
    try {
      const erp = app.get(ErpClient);
      expect(erp.enabled).toBe(true);
      expect(app.get(EmailNotifier).enabled).toBe(true);
      expect(app.get(SmsNotifier).enabled).toBe(true);
      const order = {
        paymentId: 'p-1',
        taskId: 1,
        supplierKey: 's',
        supplierName: 'S',
        invoiceNumber: '1',
        invoiceDate: '2026-11-01',
        amount: '1.00',
        currency: 'EUR',
      };
      for (let i = 0; i < 3; i++) await erp.createPaymentOrder(order).catch(() => undefined);
      expect(erpServer.requests).toHaveLength(2);
      expect(erpServer.requests[0].headers.authorization).toBe('Bearer t0ken-value');
      expect(erp.circuitState).toBe('open');
      expect(lines).toContain('ERP on, e-mail on, SMS on');
      expect(lines).toContain('ERP circuit breaker closed -> open: ERP calls fail fast for 30000 ms');
      expect(lines.join('\n')).not.toMatch(/t0ken|u:p@/);
    } finally {
      await app.close();
      await erpServer.close();
    }
  });
});
