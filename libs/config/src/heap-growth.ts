import { setFlagsFromString } from 'node:v8';
import { validateEnvironment } from './env.validation';

/**
 * Sets how far V8 lets the old generation grow past what the last full GC kept (`HEAP_GROWTH_PERCENT`). Under a
 * high allocation rate V8 picks a factor of up to 4, so a busy api or worker held 250–290 MB with far less live:
 * a fixed factor keeps the heap near what is live. Unlike --max-old-space-size it is no cap, so a 16 MB delivery
 * still gets the memory it needs. V8 reads the flag at every full GC; call this first thing, before the heap grows.
 */
export function limitHeapGrowth(
  env: Record<string, string | undefined> = process.env,
  setV8Flags: (flags: string) => void = setFlagsFromString,
): void {
  const percent = validateEnvironment(env).HEAP_GROWTH_PERCENT;
  if (percent > 0) setV8Flags(`--heap-growing-percent=${percent}`);
}
