import { Get, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces } from '@nestjs/swagger';
import { stringify } from 'csv-stringify';
import { Response } from 'express';
import { pipeline } from 'node:stream/promises';
import { AdminController } from '../admin-controller.decorator';
import { AuditorAccess } from '../auth/admin-access.decorator';
import { ListPaymentsQuery, PaymentFilter, PaymentTotalsQuery } from './payments.dto';
import { CSV_COLUMNS, PaymentsQueryService } from './payments-query.service';

/** A cell a spreadsheet would run as a formula (=, +, -, @) is prefixed with a quote. */
const FORMULA_START = /^[=+\-@\t\r]/;

@AdminController('payments', 'payments')
export class PaymentsController {
  constructor(private readonly payments: PaymentsQueryService) {}

  @Get()
  @AuditorAccess()
  @ApiOperation({ summary: 'Payments, newest decision first, by supplier, invoice number, status and period' })
  list(@Query() query: ListPaymentsQuery) {
    return this.payments.list(query);
  }

  @Get('totals')
  @AuditorAccess()
  @ApiOperation({ summary: 'Count and sum per supplier, period (month, quarter or year of the decision), currency and status' })
  totals(@Query() query: PaymentTotalsQuery) {
    return this.payments.totals(query);
  }

  @Get('export.csv')
  @AuditorAccess()
  @ApiProduces('text/csv')
  @ApiOperation({ summary: 'Every payment the filters match, as CSV, streamed' })
  async exportCsv(@Query() query: PaymentFilter, @Res() res: Response): Promise<void> {
    const { rows, release } = await this.payments.stream(query);
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', 'attachment; filename="payments.csv"');
    const csv = stringify({
      header: true,
      columns: CSV_COLUMNS,
      cast: {
        string: (value) => (FORMULA_START.test(value) ? `'${value}` : value),
      },
    });
    try {
      await pipeline(rows, csv, res);
    } finally {
      await release();
    }
  }
}
