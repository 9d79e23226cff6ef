/** Values for `{name}` placeholders. null and undefined count as missing. */
export type TemplateValues = Record<string, string | number | bigint | boolean | null | undefined>;

const TOKEN = /\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** A template names placeholders that the values do not give; nothing was sent. */
export class TemplateError extends Error {
  readonly code = 'TEMPLATE_VALUES_MISSING';
  constructor(readonly missing: string[]) {
    super(`Template values missing: ${missing.map((m) => `{${m}}`).join(', ')}`);
    this.name = 'TemplateError';
  }
}

/**
 * Fills `{name}` placeholders, e.g. "Invoice {invoiceNumber} of {amount} {currency} approved". `{{` and `}}` write a
 * literal brace; braces around anything that is not a name are left as they are.
 *
 * A placeholder without a value is rejected (TemplateError naming every missing one) rather than left visible:
 * a vendor should not get "of {amount} {currency}", and the failed outcome says which setting or field to fix.
 */
export function renderTemplate(template: string, values: TemplateValues): string {
  const missing = new Set<string>();
  const text = template.replace(TOKEN, (token, name: string | undefined) => {
    if (name === undefined) return token[0];
    const value = Object.prototype.hasOwnProperty.call(values, name) ? values[name] : undefined;
    if (value === undefined || value === null) {
      missing.add(name);
      return token;
    }
    return String(value);
  });
  if (missing.size > 0) throw new TemplateError([...missing]);
  return text;
}

/** The placeholder names a template uses, so that a bot's templates can be checked against its fields at boot. */
export function templatePlaceholders(template: string): string[] {
  const names = new Set<string>();
  for (const match of template.matchAll(TOKEN)) if (match[1] !== undefined) names.add(match[1]);
  return [...names];
}
