import { Module } from '@nestjs/common';
import { BotsModule } from '@app/bots';
import { PyrusModule } from '@app/pyrus';
import { RegisterSync } from './register-sync';
import { RegisterSyncRunner } from './register-sync.runner';

/** The local copies of the form registers that handlers read (the payment bots' duplicate check), kept fresh. */
@Module({
  imports: [BotsModule, PyrusModule],
  providers: [RegisterSync, RegisterSyncRunner],
  exports: [RegisterSync],
})
export class RegistersModule {}
