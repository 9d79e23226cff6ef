/**
 * Runs a job every `intervalMs`, never two at once, and lets shutdown wait for the run in progress. A failed run
 * is reported and tried again at the next tick.
 */
export class PeriodicRun {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(
    private readonly run: () => Promise<unknown>,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(options: { runNow?: boolean } = {}): void {
    if (options.runNow) void this.tick();
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = this.run();
    try {
      await this.running;
    } catch (err) {
      this.onError(err);
    } finally {
      this.running = undefined;
    }
  }
}
