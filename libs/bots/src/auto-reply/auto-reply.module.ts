import { Module } from '@nestjs/common';
import { AutoReplyHandler } from './auto-reply.handler';

/** Pyrus's sample bot: the smallest bot module, a handler that needs nothing injected. */
@Module({ providers: [AutoReplyHandler], exports: [AutoReplyHandler] })
export class AutoReplyModule {
  static readonly handler = AutoReplyHandler;
}
