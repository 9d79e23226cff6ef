import { PyrusEmulator } from '../../apps/pyrus-emulator/src';
import { TEST_BOT_KEY } from './test-env';

/** The user id of the bot in test/fixtures/pyrus/event.json (its approver on the task's steps). */
export const FIXTURE_BOT_USER_ID = 123456;
export const MANAGER_USER_ID = 4242;
export const PAYMENTS_BOT_USER_ID = 123459;
export const PAYMENTS_ERP_BOT_USER_ID = 123460;

/** The project's Pyrus emulator with the bots of test/fixtures/bots.test.json; deliveries are sent by the tests. */
export async function startTestEmulator(): Promise<PyrusEmulator> {
  const emulator = new PyrusEmulator({
    bots: [
      { name: 'auto-reply', login: 'bot@test-auto-reply', securityKey: TEST_BOT_KEY, userId: FIXTURE_BOT_USER_ID },
      { name: 'polite', login: 'bot@test-polite', securityKey: 'polite-key', userId: 123457 },
      { name: 'refused', login: 'bot@test-refused', securityKey: 'the-key-pyrus-knows', userId: 123458 },
      { name: 'payments', login: 'bot@test-payments', securityKey: 'payments-key', userId: PAYMENTS_BOT_USER_ID },
      { name: 'payments-erp', login: 'bot@test-payments-erp', securityKey: 'payments-erp-key', userId: PAYMENTS_ERP_BOT_USER_ID },
      // Not a bot of ours: a person who approves steps in tests (the emulator gives tokens only to accounts it knows).
      { name: 'manager', login: 'manager@example.org', securityKey: 'manager-key', userId: MANAGER_USER_ID, type: 'user' },
    ],
    autoDeliver: false,
    log: () => undefined,
  });
  await emulator.start();
  return emulator;
}
