import { AutoReplySettings } from './auto-reply.settings';
import { AutoReplyHandler } from './auto-reply.handler';

describe('AutoReplyHandler', () => {
  it("answers like Pyrus's sample bot: greets the author and approves", () => {
    const decision = new AutoReplyHandler().decide({
      bot: { name: 'auto-reply', login: 'bot@x' },
      event: 'comment',
      task: { id: 1, author: { id: 2, email: 'ivanov@example.org' } },
      settings: new AutoReplySettings(),
      em: undefined as never, // auto-reply neither reads nor writes
      caller: undefined as never, // nor calls Pyrus: the worker posts its comment
    });
    expect(decision).toEqual({
      kind: 'comment',
      reason: expect.any(String),
      comment: { text: 'Hello, ivanov@example.org. This task approved by bot.', approval_choice: 'approved' },
    });
  });
});
