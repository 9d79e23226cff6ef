/** Sleeps that stop() can end early, so nothing waits on a timer after the emulator is shut down. */
export class WakeableSleeps {
  private readonly pending = new Map<() => void, NodeJS.Timeout>();

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(this.pending.get(wake));
        this.pending.delete(wake);
        resolve();
      };
      this.pending.set(wake, setTimeout(wake, ms));
    });
  }

  /** Ends every pending sleep now. */
  wakeAll(): void {
    for (const wake of [...this.pending.keys()]) wake();
  }
}
