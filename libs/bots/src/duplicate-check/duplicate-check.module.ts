import { Module } from '@nestjs/common';
import { PaymentsModule } from '../payments/payments.module';
import { DuplicateCheckHandler } from './duplicate-check.handler';

/** Pyrus's duplicate-payments bot: its handler, and the register search it shares with the other payment bots. */
@Module({ imports: [PaymentsModule], providers: [DuplicateCheckHandler], exports: [DuplicateCheckHandler] })
export class DuplicateCheckModule {
  static readonly handler = DuplicateCheckHandler;
}
