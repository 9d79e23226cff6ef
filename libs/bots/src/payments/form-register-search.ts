import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { FormRegisterRequest, PyrusCaller, PyrusClient, PyrusTask } from '@app/pyrus';

/**
 * Searches a form's register as the bot: the requests the payment history does not hold yet are found there. The
 * client is looked up on first use, not injected: in the worker the client's call recorder needs the bot registry,
 * which needs this handler, so a constructor dependency would be a cycle Nest waits on for ever.
 */
@Injectable()
export class FormRegisterSearch {
  private client?: PyrusClient;

  constructor(private readonly modules: ModuleRef) {}

  async search(caller: PyrusCaller, formId: number, request: FormRegisterRequest): Promise<PyrusTask[]> {
    this.client ??= this.modules.get(PyrusClient, { strict: false });
    return (await this.client.getFormRegister(caller, formId, request)).tasks;
  }
}
