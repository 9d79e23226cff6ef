import { Module } from '@nestjs/common';
import { PyrusClient } from './pyrus.client';
import { PyrusHttpClient } from './pyrus-http.client';

@Module({
  providers: [{ provide: PyrusClient, useClass: PyrusHttpClient }],
  exports: [PyrusClient],
})
export class PyrusModule {}
