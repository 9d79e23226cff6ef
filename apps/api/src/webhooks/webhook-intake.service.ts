import { BadRequestException, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { AdmissionError, Admitted, DeliveryJourney } from '@app/deliveries';
import { StorablePayload } from '@app/pyrus';

export interface DeliveryMeta {
  bodyBytes: number;
  retryHeader: string | null;
  userAgent: string | null;
  requestId: string;
}

export type AcceptedDelivery = Admitted;

/**
 * Persist first, acknowledge after: a verified webhook goes through the delivery journey (stored, then queued), and
 * what went wrong becomes the answer Pyrus acts on: 503 for what its retry can fix, 400 for what it never can.
 */
@Injectable()
export class WebhookIntakeService {
  constructor(private readonly journey: DeliveryJourney) {}

  async accept(bot: string, storable: StorablePayload, meta: DeliveryMeta): Promise<AcceptedDelivery> {
    try {
      return await this.journey.admit({ bot, storable, ...meta });
    } catch (err) {
      if (!(err instanceof AdmissionError)) throw err;
      const body = { code: err.code, message: err.message };
      throw err.retryable ? new ServiceUnavailableException(body) : new BadRequestException(body);
    }
  }
}
