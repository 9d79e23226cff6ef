import { execFileSync } from 'node:child_process';
import { ConfigError } from './config.error';
import { limitHeapGrowth } from './heap-growth';

describe('limitHeapGrowth', () => {
  // Which flag is set, and when; its effect on memory is what bench:pipeline's peak RSS shows.
  let flags: string[];
  const record = (f: string) => flags.push(f);
  beforeEach(() => (flags = []));

  it('lets the old generation grow to twice the live heap by default', () => {
    limitHeapGrowth({}, record);
    expect(flags).toEqual(['--heap-growing-percent=100']);
  });

  it('takes HEAP_GROWTH_PERCENT, and leaves V8 alone at 0', () => {
    limitHeapGrowth({ HEAP_GROWTH_PERCENT: '75' }, record);
    limitHeapGrowth({ HEAP_GROWTH_PERCENT: '0' }, record);
    expect(flags).toEqual(['--heap-growing-percent=75']);
  });

  it('stops the boot on a bad value, naming the variable, before touching V8', () => {
    for (const bad of ['-5', 'lots', '1001']) {
      expect(() => limitHeapGrowth({ HEAP_GROWTH_PERCENT: bad }, record)).toThrow(ConfigError);
      expect(() => limitHeapGrowth({ HEAP_GROWTH_PERCENT: bad }, record)).toThrow(/HEAP_GROWTH_PERCENT/);
    }
    expect(flags).toEqual([]);
  });

  it('sets a flag this V8 knows (an unknown one would be ignored without a word)', () => {
    expect(execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8' })).toContain('--heap-growing-percent ');
  });
});
