import { Controller, Get, Header, Res } from '@nestjs/common';
import { Response } from 'express';
import { MetricsService } from './metrics.service';

/**
 * GET /metrics in Prometheus text format, without auth: it carries no secrets, but it names the bots and shows the
 * load, so keep it off the public internet (scrape it inside the network, or block /metrics at the load balancer).
 */
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  async scrape(@Res() res: Response): Promise<void> {
    const body = await this.metrics.metrics();
    // A Buffer, so that Express sends prom-client's Content-Type as it is.
    res.type(this.metrics.contentType).send(Buffer.from(body));
  }
}
