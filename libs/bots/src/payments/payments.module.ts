import { Module } from '@nestjs/common';
import { PyrusModule } from '@app/pyrus';
import { RegisterDuplicates } from './duplicates';
import { FormRegisterSearch } from './form-register-search';

/**
 * What the payment bots share beyond the history's SQL: the form register search. Each payment bot's module imports it.
 * PyrusModule is imported so that the search's lazy lookup of the client finds it in every process.
 */
@Module({ imports: [PyrusModule], providers: [FormRegisterSearch, RegisterDuplicates], exports: [FormRegisterSearch, RegisterDuplicates] })
export class PaymentsModule {}
