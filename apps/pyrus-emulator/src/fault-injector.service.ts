import { ActiveFault, FaultKind, FaultSpec } from './emulator.types';

const KINDS: FaultKind[] = ['error', 'burst', 'slow', 'timeout', 'html', 'reset'];

/** Matches a path against a pattern where `*` stands for any run of characters (a whole-string match). */
export function pathMatches(pattern: string, path: string): boolean {
  const regex = new RegExp(
    '^' +
      pattern
        .split('*')
        .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*') +
      '$',
  );
  return regex.test(path);
}

/** The faults in force; `pick` says which one (if any) hits a request, and counts it. */
export class FaultInjector {
  private faults: ActiveFault[] = [];
  private nextId = 1;

  constructor(private readonly random: () => number = Math.random) {}

  add(spec: FaultSpec): ActiveFault {
    if (!KINDS.includes(spec.kind)) throw new Error(`Unknown fault kind "${String(spec.kind)}"; one of ${KINDS.join(', ')}`);
    if (spec.rate !== undefined && !(spec.rate >= 0 && spec.rate <= 1)) throw new Error('"rate" must be between 0 and 1');
    if (spec.kind === 'burst' && spec.count === undefined) throw new Error('A "burst" fault needs "count"');
    const fault: ActiveFault = { ...spec, id: `f${this.nextId++}`, fired: 0 };
    this.faults.push(fault);
    return { ...fault };
  }

  remove(id: string): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((f) => f.id !== id);
    return this.faults.length !== before;
  }

  clear(): void {
    this.faults = [];
  }

  list(): ActiveFault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  pick(phase: 'before' | 'after', method: string, path: string, bot: string | undefined): ActiveFault | undefined {
    for (const fault of this.faults) {
      if ((fault.phase ?? 'before') !== phase) continue;
      if (fault.count !== undefined && fault.fired >= fault.count) continue;
      if (fault.method && fault.method.toUpperCase() !== method.toUpperCase()) continue;
      if (fault.path && !pathMatches(fault.path, path)) continue;
      if (fault.bot && fault.bot !== bot) continue;
      if (fault.rate !== undefined && this.random() >= fault.rate) continue;
      fault.fired += 1;
      return { ...fault };
    }
    return undefined;
  }
}
