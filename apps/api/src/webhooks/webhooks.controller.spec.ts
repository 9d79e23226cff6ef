import { BadRequestException, ServiceUnavailableException } from '@nestjs/common';
import { Request } from 'express';
import { BotRegistry } from '@app/bots';
import { MetricsService } from '@app/observability';
import { sampleValue } from '@app/observability/metrics/testing/prometheus-text';
import { RECEIVED_AT } from './raw-body.middleware';
import { AcceptedDelivery, WebhookIntakeService } from './webhook-intake.service';
import { WebhooksController } from './webhooks.controller';

/** How the controller classifies each answer for the metrics; the HTTP behaviour itself is the e2e specs' job. */
describe('WebhooksController metrics', () => {
  let metrics: MetricsService;
  let accept: jest.Mock<Promise<AcceptedDelivery>>;
  let controller: WebhooksController;
  const bots = { get: (name: string) => ({ name, securityKeys: ['k'] }) } as unknown as BotRegistry;
  const body = Buffer.from(JSON.stringify({ task_id: 1, task: { id: 1 } }));
  const request = () => ({ id: 'req-1', headers: {}, [RECEIVED_AT]: performance.now() - 5 }) as unknown as Request & { id?: string };
  const receive = (raw = body) => controller.receive('payments', raw, '1/3', 'Pyrus-Bot-4', request());
  const value = async (name: string, labels: Record<string, string>) => sampleValue(await metrics.metrics(), name, labels) ?? 0;

  beforeEach(() => {
    metrics = new MetricsService();
    accept = jest.fn();
    controller = new WebhooksController(bots, { accept } as unknown as WebhookIntakeService, metrics);
  });

  it('counts an accepted delivery and times its acknowledgement from the request reaching the route', async () => {
    accept.mockResolvedValue({ deliveryId: 'd', inserted: true, queuedNow: true });
    await expect(receive()).resolves.toEqual({});
    expect(await value('pyrus_bots_webhook_deliveries_total', { bot: 'payments', outcome: 'accepted' })).toBe(1);
    expect(await value('pyrus_bots_webhook_ack_duration_seconds_count', { bot: 'payments', outcome: 'accepted' })).toBe(1);
    expect(await value('pyrus_bots_webhook_ack_duration_seconds_sum', { bot: 'payments', outcome: 'accepted' })).toBeGreaterThanOrEqual(
      0.005,
    );
    expect(await value('pyrus_bots_webhook_duplicates_total', { bot: 'payments' })).toBe(0);
  });

  it('counts a repeat as a dropped duplicate only when it queued nothing', async () => {
    accept.mockResolvedValueOnce({ deliveryId: 'd', inserted: false, queuedNow: false });
    accept.mockResolvedValueOnce({ deliveryId: 'd', inserted: false, queuedNow: true });
    await receive();
    await receive();
    expect(await value('pyrus_bots_webhook_deliveries_total', { bot: 'payments', outcome: 'duplicate' })).toBe(2);
    expect(await value('pyrus_bots_webhook_duplicates_total', { bot: 'payments' })).toBe(1);
  });

  it('counts a bad payload, a 503 and anything else by outcome, and lets each error through', async () => {
    await expect(receive(Buffer.from('{"task":{}}'))).rejects.toBeInstanceOf(BadRequestException);
    accept.mockRejectedValueOnce(new ServiceUnavailableException({ code: 'QUEUE_UNAVAILABLE' }));
    await expect(receive()).rejects.toBeInstanceOf(ServiceUnavailableException);
    accept.mockRejectedValueOnce(new Error('bug'));
    await expect(receive()).rejects.toThrow('bug');
    for (const outcome of ['invalid_payload', 'unavailable', 'error']) {
      expect(await value('pyrus_bots_webhook_deliveries_total', { bot: 'payments', outcome })).toBe(1);
      expect(await value('pyrus_bots_webhook_ack_duration_seconds_count', { bot: 'payments', outcome })).toBe(1);
    }
    expect(await value('pyrus_bots_webhook_deliveries_total', { bot: 'payments', outcome: 'accepted' })).toBe(0);
  });
});
