import { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** A local SMTP server that keeps every message it receives. */
export interface MailCapture {
  port: number;
  /** For the service's SMTP_URL. */
  url: string;
  /** Each message as received (headers and body), with quoted-printable soft line breaks undone so text can be searched. */
  mails: string[];
  close(): Promise<void>;
}

/** Starts a plain SMTP server on 127.0.0.1 (no TLS, no login) that accepts every message. */
export async function startMailCapture(): Promise<MailCapture> {
  const mails: string[] = [];
  const smtp = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      let raw = '';
      stream.on('data', (c) => (raw += c));
      stream.on('end', () => {
        mails.push(raw.replace(/=\r?\n/g, '')); // undo quoted-printable soft line breaks
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const port = (smtp.server.address() as AddressInfo).port;
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    mails,
    close: () => new Promise<void>((resolve) => smtp.close(() => resolve())),
  };
}
