import { Module } from '@nestjs/common';
import { RegisterDuplicates } from './duplicates';
import { FormRegisterSearch } from './form-register-search';

/** What the payment bots share beyond the history's SQL: the form register search. Each payment bot's module imports it. */
@Module({ providers: [FormRegisterSearch, RegisterDuplicates], exports: [FormRegisterSearch, RegisterDuplicates] })
export class PaymentsModule {}
