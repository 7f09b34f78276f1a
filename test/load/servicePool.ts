/**
 * The origin's capacity: a fixed number of workers, each serving one request at a time, and a FIFO of
 * the requests waiting for one, like an application server's thread pool or a database's CPUs. A
 * request that arrives while every worker is busy waits; nothing is ever refused, so an overloaded
 * origin shows what real ones show: latency that grows with the backlog.
 *
 * Work is not abandoned when its client goes away (an application server finishes a request whose
 * client has gone): that wasted work is what turns an overload into a collapse.
 */

export interface ServiceJob {
  /** Milliseconds of work, decided when a worker takes the job (the origin's state may have changed). */
  readonly cost: () => number;
  readonly done: () => void;
  /** Whether the job counts towards `heavyInService` (contention, scenario 002). */
  readonly heavy: boolean;
}

export class ServicePool {
  private readonly queue: ServiceJob[] = [];
  private head = 0;
  private busy = 0;
  /** Heavy jobs in service now. */
  heavyInService = 0;

  constructor(
    public workers: number,
    private readonly schedule: (ms: number, fn: () => void) => void = (ms, fn) => void setTimeout(fn, ms),
  ) {
    if (!(workers >= 1)) throw new RangeError(`workers must be at least 1, got ${workers}`);
  }

  get inService(): number {
    return this.busy;
  }

  get waiting(): number {
    return this.queue.length - this.head;
  }

  submit(job: ServiceJob): void {
    this.queue.push(job);
    this.next();
  }

  private next(): void {
    while (this.busy < this.workers && this.head < this.queue.length) {
      const job = this.queue[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      this.busy++;
      if (job.heavy) this.heavyInService++;
      this.schedule(Math.max(0, job.cost()), () => {
        this.busy--;
        if (job.heavy) this.heavyInService--;
        job.done();
        this.next();
      });
    }
  }
}
