import { Injectable } from '@nestjs/common';
import { AutoReplySettings } from './auto-reply.settings';
import { BotContext, BotDecision, BotHandler } from '../bot-handler';

/** Pyrus's own sample bot: greet the author and approve. */
@Injectable()
export class AutoReplyHandler implements BotHandler<AutoReplySettings> {
  readonly name = 'auto-reply';
  readonly settingsClass = AutoReplySettings;

  decide({ task }: BotContext<AutoReplySettings>): BotDecision {
    const email = task.author?.email ?? 'unknown author';
    return {
      kind: 'comment',
      reason: 'auto-reply approves every task it receives',
      comment: { text: `Hello, ${email}. This task approved by bot.`, approval_choice: 'approved' },
    };
  }
}
