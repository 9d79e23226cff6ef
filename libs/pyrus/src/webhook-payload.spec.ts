import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { deliveryDedupeKey, InvalidPayloadError, parseBotHookRequest } from './webhook-payload';
import { redactWebhookBody, REDACTED } from './redact';

const fixture = readFileSync(resolve(__dirname, '../../../test/fixtures/pyrus/event.json'));

describe('parseBotHookRequest', () => {
  it('parses the fixture delivery', () => {
    const payload = parseBotHookRequest(fixture);
    expect(payload.task_id).toBe(123456);
    expect(payload.task.author?.last_name).toBe('Иванов');
  });

  it.each([
    ['', /empty/],
    ['not json', /not valid JSON/],
    ['[1,2]', /JSON object/],
    ['{"task": {}}', /"task_id" must be a positive integer/],
    ['{"task_id": "12", "task": {}}', /"task_id" must be a positive integer/],
    ['{"task_id": 1.5, "task": {}}', /"task_id" must be a positive integer/],
    ['{"task_id": 12}', /"task" must be an object/],
    ['{"task_id": 12, "task": [], "event": "comment"}', /"task" must be an object/],
    ['{"task_id": 12, "task": {}, "event": 5}', /"event" must be a string/],
  ])('rejects %j', (body, message) => {
    expect(() => parseBotHookRequest(Buffer.from(body))).toThrow(InvalidPayloadError);
    expect(() => parseBotHookRequest(Buffer.from(body))).toThrow(message);
  });
});

describe('deliveryDedupeKey', () => {
  const base = () => JSON.parse(fixture.toString());

  it('is the event and the last comment id when the task has comments', () => {
    const payload = base();
    payload.task.comments = [{ id: 998 }, { id: 999, text: 'newest' }, { id: 5, text: 'older id, listed last' }];
    expect(deliveryDedupeKey(payload)).toBe('comment:c999');
  });

  it('changes with the event', () => {
    const payload = base();
    const asComment = deliveryDedupeKey(payload);
    payload.event = 'close';
    expect(deliveryDedupeKey(payload)).not.toBe(asComment);
  });

  it('hashes the body without its token when there are no comments, so retries with a new token match', () => {
    const first = { ...base(), access_token: 'one' };
    first.task.comments = [];
    const retry = { ...first, access_token: 'two' };
    expect(deliveryDedupeKey(first)).toMatch(/^comment:sha256:[0-9a-f]{64}$/);
    expect(deliveryDedupeKey(retry)).toBe(deliveryDedupeKey(first));
    const changed = { ...first, task: { ...first.task, text: 'edited' } };
    expect(deliveryDedupeKey(changed)).not.toBe(deliveryDedupeKey(first));
  });
});

describe('redactWebhookBody', () => {
  it('replaces the access token and leaves the task as it is', () => {
    const body = { access_token: 't', task_id: 1, task: { id: 1, text: 'ok' } };
    const out = redactWebhookBody(body);
    expect(out).toEqual({ access_token: REDACTED, task_id: 1, task: { id: 1, text: 'ok' } });
    expect(body.access_token).toBe('t');
  });
});
