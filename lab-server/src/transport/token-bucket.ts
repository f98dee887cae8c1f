/** A token bucket: `rate` tokens per second on average, `burst` at once. */
export class TokenBucket {
  private tokens: number;
  private last = performance.now();
  private lastReport = 0;
  dropped = 0;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  take(cost = 1): boolean {
    this.refill();
    if (this.tokens < cost) return false;
    this.tokens -= cost;
    return true;
  }

  /** Whether `cost` could be taken now, without taking it. */
  has(cost = 1): boolean {
    this.refill();
    return this.tokens >= cost;
  }

  /** Returns `cost` tokens, up to the burst. */
  giveBack(cost = 1): void {
    this.refill();
    this.tokens = Math.min(this.burst, this.tokens + cost);
  }

  /** Seconds until `cost` tokens are there again. */
  secondsUntil(cost = 1): number {
    this.refill();
    return Math.max(0, Math.ceil((cost - this.tokens) / this.rate));
  }

  /** Full again: forgetting the bucket changes nothing. */
  get full(): boolean {
    this.refill();
    return this.tokens >= this.burst;
  }

  /** At most one "slow down" message a second. */
  shouldReport(): boolean {
    const now = performance.now();
    if (now - this.lastReport < 1000) return false;
    this.lastReport = now;
    return true;
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
  }
}

/** Buckets by key (an address), made on first use; full buckets are dropped by `sweep`. */
export class BucketMap {
  private readonly buckets = new Map<string, TokenBucket>();
  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {}

  get(key: string): TokenBucket {
    let bucket = this.buckets.get(key);
    if (!bucket) this.buckets.set(key, (bucket = new TokenBucket(this.rate, this.burst)));
    return bucket;
  }

  /** Forgets buckets that have refilled, so the map holds only addresses that were busy lately. */
  sweep(): void {
    for (const [key, bucket] of this.buckets) if (bucket.full) this.buckets.delete(key);
  }
}
