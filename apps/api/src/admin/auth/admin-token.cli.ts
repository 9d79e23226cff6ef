import { createHash, randomBytes } from 'node:crypto';
import { ADMIN_ROLES, AdminRole } from '@app/config';

/**
 * npm run admin:token -- --name alice --role auditor
 * Makes a random token and prints it once, with the ADMIN_TOKENS entry that holds only its SHA-256.
 */
function main(argv: string[]): number {
  const arg = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const name = arg('--name');
  const role = arg('--role') as AdminRole | undefined;
  if (!name || !/^[A-Za-z0-9._@-]{1,64}$/.test(name) || !role || !ADMIN_ROLES.includes(role)) {
    process.stderr.write(`usage: npm run admin:token -- --name NAME --role ${ADMIN_ROLES.join('|')}\n`);
    return 2;
  }
  const token = randomBytes(32).toString('base64url');
  const sha256 = createHash('sha256').update(token).digest('hex');
  process.stdout.write(
    `token (give it to ${name}; it is not stored anywhere):\n  ${token}\n` +
      `ADMIN_TOKENS entry (comma-separate several):\n  ${name}:${role}:${sha256}\n` +
      `or in an ADMIN_TOKENS file:\n  {"tokens": [{"name": "${name}", "role": "${role}", "sha256": "${sha256}"}]}\n`,
  );
  return 0;
}

process.exitCode = main(process.argv.slice(2));
