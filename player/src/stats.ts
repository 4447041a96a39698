// Small windowed statistics for the jitter buffer and the stats overlay.

/** Keeps the last n samples. */
export class Window {
  private xs: number[] = [];
  constructor(private readonly n: number) {}
  push(x: number): void {
    this.xs.push(x);
    if (this.xs.length > this.n) this.xs.shift();
  }
  get length(): number {
    return this.xs.length;
  }
  min(): number {
    return this.xs.length ? Math.min(...this.xs) : 0;
  }
  /** The q-quantile (0..1) of the window, 0 when empty. */
  quantile(q: number): number {
    if (!this.xs.length) return 0;
    const s = [...this.xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor(q * s.length))];
  }
  clear(): void {
    this.xs = [];
  }
}

/** Wall-clock time in microseconds, with sub-millisecond resolution. */
export function wallMicros(perfNow = performance.now()): number {
  return (performance.timeOrigin + perfNow) * 1000;
}
