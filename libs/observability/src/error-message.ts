/** An error's message for a log line or a stored reason: never the stack, never an object dump. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
