import { Injectable } from '@nestjs/common';
import { BotContext, BotDecision, BotHandler } from '../bot-handler';

/** Pyrus's own sample bot: greet the author and approve. */
@Injectable()
export class AutoReplyHandler implements BotHandler {
  readonly name = 'auto-reply';

  decide({ task }: BotContext): BotDecision {
    const email = task.author?.email ?? 'unknown author';
    return {
      kind: 'comment',
      reason: 'auto-reply approves every task it receives',
      comment: { text: `Hello, ${email}. This task approved by bot.`, approval_choice: 'approved' },
    };
  }
}
