import { once } from 'node:events';
import { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { closedPort } from '../testing/recording-http-server';
import { EmailNotifier, EmailSettings } from './email.notifier';

const USER = 'mailer';
const PASSWORD = 's3cret-P@ss';

interface Received {
  from: string | undefined;
  rcpt: string[];
  raw: string;
}

/** A real SMTP server on 127.0.0.1 that requires a login and keeps what it receives. */
async function startSmtpServer(): Promise<{ server: SMTPServer; port: number; received: Received[] }> {
  const received: Received[] = [];
  const server = new SMTPServer({
    // Plain connection with AUTH, as on a local relay; TLS is nodemailer's and the server's business, not ours.
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === USER && auth.password === PASSWORD) return callback(null, { user: USER });
      return callback(new Error('Invalid username or password'));
    },
    onRcptTo(address, _session, callback) {
      if (address.address.endsWith('@blocked.example.com')) return callback(new Error('Mailbox unavailable'));
      return callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const mailFrom = session.envelope.mailFrom;
        received.push({
          from: mailFrom ? mailFrom.address : undefined,
          rcpt: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  return { server, port: (server.server.address() as AddressInfo).port, received };
}

const header = (raw: string, name: string) => new RegExp(`^${name}: (.*)$`, 'mi').exec(raw)?.[1];

/** The text body, decoded from quoted-printable (nodemailer's choice for long or non-ASCII lines). */
function bodyText(raw: string): string {
  const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  if (!/quoted-printable/i.test(header(raw, 'Content-Transfer-Encoding') ?? '')) return body;
  const bytes = body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

describe('EmailNotifier against a local SMTP server', () => {
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  const notifiers: EmailNotifier[] = [];

  beforeEach(async () => {
    smtp = await startSmtpServer();
  });
  afterEach(async () => {
    notifiers.splice(0).forEach((n) => n.close());
    await new Promise<void>((resolve) => smtp.server.close(() => resolve()));
  });

  const notifier = (over: Partial<EmailSettings> = {}) => {
    const n = new EmailNotifier({
      url: `smtp://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${smtp.port}`,
      from: 'Payments <payments@example.com>',
      timeoutMs: 3000,
      ...over,
    });
    notifiers.push(n);
    return n;
  };
  const values = { invoiceNumber: 'INV-2026/042', amount: '1250.00', currency: 'EUR', supplierName: 'ООО «Ромашка»' };

  it('delivers the rendered subject and body to the right address', async () => {
    const outcome = await notifier().send({
      to: 'vendor@acme.example.com',
      subject: 'Invoice {invoiceNumber} approved',
      text: 'Dear {supplierName}, invoice {invoiceNumber} of {amount} {currency} is approved for payment.',
      values,
    });
    expect(outcome).toMatchObject({ channel: 'email', to: 'vendor@acme.example.com', status: 'sent' });
    expect(outcome.providerId).toMatch(/^<.+@.+>$/);
    expect(outcome.error).toBeUndefined();

    expect(smtp.received).toHaveLength(1);
    const [mail] = smtp.received;
    expect(mail.from).toBe('payments@example.com');
    expect(mail.rcpt).toEqual(['vendor@acme.example.com']);
    expect(header(mail.raw, 'Subject')).toBe('Invoice INV-2026/042 approved');
    expect(header(mail.raw, 'To')).toBe('vendor@acme.example.com');
    expect(header(mail.raw, 'From')).toBe('Payments <payments@example.com>');
    expect(header(mail.raw, 'Message-ID')).toBe(outcome.providerId);
    expect(bodyText(mail.raw).trim()).toBe('Dear ООО «Ромашка», invoice INV-2026/042 of 1250.00 EUR is approved for payment.');
  });

  it('keeps a line break in a value out of the headers', async () => {
    const outcome = await notifier().send({
      to: 'vendor@acme.example.com',
      subject: 'Invoice {invoiceNumber}',
      text: 'x',
      values: { invoiceNumber: 'A\r\nBcc: evil@example.com' },
    });
    expect(outcome.status).toBe('sent');
    expect(smtp.received[0].rcpt).toEqual(['vendor@acme.example.com']);
    expect(smtp.received[0].raw).not.toMatch(/^Bcc:/im);
  });

  it('returns a failed outcome, not retryable, when the login is refused, without the password', async () => {
    const wrong = 'wrong-Password-42';
    const outcome = await notifier({ url: `smtp://${USER}:${wrong}@127.0.0.1:${smtp.port}` }).send({
      to: 'vendor@acme.example.com',
      subject: 's',
      text: 't',
    });
    expect(outcome).toMatchObject({ channel: 'email', status: 'failed', retryable: false });
    expect(outcome.error).toMatch(/^SMTP EAUTH: .*Invalid username or password/);
    expect(JSON.stringify(outcome)).not.toContain(wrong);
    expect(smtp.received).toHaveLength(0);
  });

  it('returns a failed, retryable outcome when nothing listens on the port', async () => {
    const closed = await closedPort();
    const outcome = await notifier({ url: `smtp://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${closed}` }).send({
      to: 'vendor@acme.example.com',
      subject: 's',
      text: 't',
    });
    expect(outcome).toMatchObject({ status: 'failed', retryable: true });
    expect(outcome.error).toMatch(/ECONNREFUSED/);
    expect(outcome.error).not.toContain(PASSWORD);
  });

  it('returns a failed outcome when the server refuses the recipient', async () => {
    const outcome = await notifier().send({ to: 'someone@blocked.example.com', subject: 's', text: 't' });
    expect(outcome).toMatchObject({ status: 'failed', retryable: false });
    expect(outcome.error).toContain('Mailbox unavailable');
  });

  it('sends nothing when a template value is missing, and names it', async () => {
    const outcome = await notifier().send({
      to: 'vendor@acme.example.com',
      subject: 'Invoice {invoiceNumber}',
      text: '{amount} {currency}',
      values: { invoiceNumber: 'X' },
    });
    expect(outcome).toMatchObject({ status: 'failed', retryable: false, error: 'Template values missing: {amount}, {currency}' });
    expect(smtp.received).toHaveLength(0);
  });

  it('refuses an address that is not one', async () => {
    const outcome = await notifier().send({ to: 'vendor at acme', subject: 's', text: 't' });
    expect(outcome).toMatchObject({ status: 'failed', retryable: false });
    expect(smtp.received).toHaveLength(0);
  });

  it('is disabled without settings', async () => {
    const n = new EmailNotifier(null);
    expect(n.enabled).toBe(false);
    await expect(n.send({ to: 'a@b.c', subject: 's', text: 't' })).resolves.toMatchObject({
      status: 'failed',
      error: 'E-mail is not configured (SMTP_URL is not set)',
    });
  });
});
