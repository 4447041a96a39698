// Video: WebCodecs decode of LOC objects, a jitter buffer timed from the
// capture timestamps, canvas rendering, and a skip to the newest group
// when playback falls behind.

import type { GroupStream, MoqObject } from "./moq";
import { STATUS_NORMAL } from "./moq";
import { wallMicros, Window } from "./stats";

// LOC properties (transport/msf/loc.go).
export const LOC_TIMESTAMP = 0x10;
export const LOC_TIMESCALE = 0x08;
export const LOC_FRAME_MARKING = 0x09;

/** How late (ms) the newest frame may be before playback skips ahead. */
const SKIP_LATENESS_MS = 400;
/** Frames waiting for their playout time; more means we are behind. */
const MAX_QUEUED = 24;
/** Jitter assumed until enough samples arrived (ms). */
const DEFAULT_JITTER_MS = 20;
/** How long without a new frame counts as a stall (buffering). */
export const STALL_MS = 600;

export interface VideoHooks {
  firstFrame(): void;
  /** A frame was shown at (performance.now()), with its glass-to-glass latency in ms (null for catch-up frames). */
  frame?(at: number, g2gMs: number | null): void;
  error(msg: string): void;
}

/** Capture time of an object in wall-clock microseconds, or 0. */
export function captureMicros(o: MoqObject): number {
  if (o.ext.has(LOC_TIMESCALE)) return 0;
  const v = o.ext.get(LOC_TIMESTAMP);
  return typeof v === "number" ? v : 0;
}

function isKey(o: MoqObject): boolean {
  const fm = o.ext.get(LOC_FRAME_MARKING);
  if (typeof fm === "number") return (fm & 0x20) !== 0;
  return o.id === 0;
}

interface Queued {
  frame: VideoFrame;
  due: number; // wall-clock µs to show it at
  capture: number; // µs
  group: number;
}

export class VideoPipe {
  /** Group of each chunk in the decoder, by timestamp. */
  private groupOf = new Map<number, number>();
  private dec: VideoDecoder;
  private ctx: CanvasRenderingContext2D;
  private queue: Queued[] = [];
  private waitKey = true;
  private group = -1;
  private streams = new Map<number, GroupStream>();
  private delays = new Window(180); // arrival - capture, µs
  private minDelay = Infinity; // µs, over everything received
  private joinGroup = -1; // the group playback joined, often mid-way
  private raf = 0;
  private timer = 0;
  private closed = false;

  // Stats.
  decoded = 0;
  rendered = 0;
  dropped = 0;
  skips = 0;
  bytes = 0;
  lastRender = 0;
  g2g = new Window(600); // ms
  /** How late the latest object arrived, beyond the playout delay (ms). */
  lateMs = 0;
  /** Current playout delay above the minimum seen delay (ms). */
  playoutMs = 0;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly codec: string,
    private readonly targetMs: number,
    private readonly hooks: VideoHooks,
  ) {
    this.ctx = canvas.getContext("2d", { alpha: false, desynchronized: true }) as CanvasRenderingContext2D;
    this.dec = new VideoDecoder({
      output: (f) => this.onFrame(f),
      error: (e) => this.hooks.error(`video decoder: ${e.message}`),
    });
    this.dec.configure({ codec, optimizeForLatency: true });
    this.loop();
  }

  /** A new subgroup stream: each carries one group. */
  stream(s: GroupStream): void {
    this.streams.set(s.group, s);
    if (s.group > this.group && this.behind()) this.skipTo(s.group);
  }

  object(o: MoqObject): void {
    if (this.closed || o.status !== STATUS_NORMAL || o.payload.length === 0) {
      if (o.status !== STATUS_NORMAL) this.streams.delete(o.group);
      return;
    }
    this.bytes += o.payload.length;
    const cap = captureMicros(o);
    if (this.joinGroup < 0) this.joinGroup = o.group;
    if (cap > 0) {
      const d = wallMicros(o.arrival) - cap;
      this.minDelay = Math.min(this.minDelay, d);
      // The joined group arrives as a burst of old objects: it says
      // nothing about jitter.
      if (o.group !== this.joinGroup) this.delays.push(d);
    }
    if (cap > 0 && this.delays.length >= 10) {
      // How far behind the live edge this object arrived: a stalled
      // network or page makes everything queued behind it late.
      this.lateMs = (wallMicros(o.arrival) - cap - this.delays.min()) / 1000 - this.playoutMs;
    }
    if (this.behind()) {
      const newest = Math.max(...this.streams.keys());
      if (newest > this.group && newest > o.group) this.skipTo(newest);
    }
    if (o.group < this.group) return; // straggler of a group we left
    const key = isKey(o);
    if (o.group > this.group) {
      if (!key) {
        this.waitKey = true;
        return;
      }
      this.enterGroup(o.group);
    }
    if (this.waitKey) {
      if (!key) return;
      this.waitKey = false;
    }
    if (this.dec.state !== "configured") return;
    this.groupOf.set(cap, o.group);
    if (this.groupOf.size > 256) this.groupOf.delete(this.groupOf.keys().next().value as number);
    this.dec.decode(new EncodedVideoChunk({ type: key ? "key" : "delta", timestamp: cap, data: o.payload }));
  }

  private enterGroup(g: number): void {
    this.group = g;
    for (const [id, s] of this.streams) {
      if (id < g) {
        s.cancel();
        this.streams.delete(id);
      }
    }
  }

  /** Playback is late: media arrives late, frames pile up, or the oldest is long overdue. */
  private behind(): boolean {
    if (this.lateMs > SKIP_LATENESS_MS) return true;
    if (this.queue.length > MAX_QUEUED || this.dec.decodeQueueSize > MAX_QUEUED) return true;
    const head = this.queue[0];
    return head !== undefined && wallMicros() - head.due > SKIP_LATENESS_MS * 1000;
  }

  /** Drops everything queued and resumes at group g's keyframe. */
  private skipTo(g: number): void {
    this.skips++;
    this.lateMs = 0;
    for (const q of this.queue) q.frame.close();
    this.dropped += this.queue.length;
    this.queue = [];
    this.waitKey = true;
    this.group = g - 1;
    for (const [id, s] of this.streams) {
      if (id < g) {
        s.cancel();
        this.streams.delete(id);
      }
    }
  }

  private onFrame(f: VideoFrame): void {
    if (this.closed) {
      f.close();
      return;
    }
    this.decoded++;
    const cap = f.timestamp;
    // Jitter buffer: the minimum arrival delay is the path (and clock
    // offset); the spread above it is jitter, absorbed up to the target.
    const base = this.delays.length >= 10 ? this.delays.min() : this.minDelay;
    const jitter = this.delays.length >= 10 ? (this.delays.quantile(0.95) - base) / 1000 : DEFAULT_JITTER_MS;
    this.playoutMs = Math.min(this.targetMs, jitter + 5);
    const due = cap > 0 ? cap + base + this.playoutMs * 1000 : wallMicros();
    this.queue.push({ frame: f, due, capture: cap, group: this.groupOf.get(cap) ?? -1 });
    this.groupOf.delete(cap);
    if (this.queue.length > MAX_QUEUED * 2) {
      const old = this.queue.shift();
      old?.frame.close();
      this.dropped++;
    }
  }

  private loop(): void {
    const tick = () => {
      if (this.closed) return;
      this.render();
      this.loop();
    };
    // requestAnimationFrame pauses in hidden pages; a timer keeps the
    // buffer draining there.
    if (document.hidden) this.timer = setTimeout(tick, 8) as unknown as number;
    else this.raf = requestAnimationFrame(tick);
  }

  private render(): void {
    const now = wallMicros();
    let pick: Queued | undefined;
    while (this.queue.length && this.queue[0].due <= now) {
      if (pick) {
        pick.frame.close();
        this.dropped++;
      }
      pick = this.queue.shift();
    }
    if (!pick) return;
    const f = pick.frame;
    if (this.canvas.width !== f.displayWidth || this.canvas.height !== f.displayHeight) {
      this.canvas.width = f.displayWidth;
      this.canvas.height = f.displayHeight;
    }
    this.ctx.drawImage(f, 0, 0);
    f.close();
    this.rendered++;
    this.lastRender = performance.now();
    // Frames of the group joined mid-way are shown catching up; the
    // first-frame time covers them, glass-to-glass the steady state.
    const g2g = pick.capture > 0 && pick.group !== this.joinGroup ? (wallMicros() - pick.capture) / 1000 : null;
    if (g2g !== null) this.g2g.push(g2g);
    if (this.rendered === 1) this.hooks.firstFrame();
    this.hooks.frame?.(this.lastRender, g2g);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    cancelAnimationFrame(this.raf);
    clearTimeout(this.timer);
    for (const q of this.queue) q.frame.close();
    this.queue = [];
    for (const s of this.streams.values()) s.cancel();
    try {
      this.dec.close();
    } catch {
      /* already closed */
    }
  }
}
