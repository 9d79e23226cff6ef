/**
 * Group commit: items that arrive while a flush is running wait and go together in the next one. At low load a
 * flush holds one item and starts at once; under load, one round trip serves many requests.
 */
export class Batcher<In, Out> {
  private pending: Array<{ item: In; resolve: (out: Out) => void; reject: (err: unknown) => void }> = [];
  private flushing = false;

  constructor(
    private readonly flush: (items: In[]) => Promise<Array<Out | Error>>,
    private readonly maxBatch: number,
  ) {}

  submit(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (!this.flushing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.flushing = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, this.maxBatch);
        try {
          const results = await this.flush(batch.map((b) => b.item));
          batch.forEach((b, i) => (results[i] instanceof Error ? b.reject(results[i]) : b.resolve(results[i])));
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}
