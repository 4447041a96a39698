// Audio: WebCodecs Opus decode into an AudioWorklet ring buffer whose fill
// follows the video's playout delay, so sound and picture stay together.

import type { MoqObject } from "./moq";
import { STATUS_NORMAL } from "./moq";
import { captureMicros } from "./video";

// The worklet runs in its own global scope; it is loaded from a Blob so
// the player stays one file.
const WORKLET = `
class StrataRing extends AudioWorkletProcessor {
  constructor(opts) {
    super();
    const ch = opts.processorOptions.channels, cap = opts.processorOptions.capacity;
    this.bufs = Array.from({length: ch}, () => new Float32Array(cap));
    this.cap = cap; this.r = 0; this.w = 0; this.fill = 0;
    this.target = opts.processorOptions.target; this.started = false; this.underruns = 0;
    this.port.onmessage = (e) => {
      const m = e.data;
      if (m.target !== undefined) { this.target = m.target; return; }
      const n = m.planes[0].length;
      for (let c = 0; c < this.bufs.length; c++) {
        const src = m.planes[Math.min(c, m.planes.length - 1)], dst = this.bufs[c];
        for (let i = 0; i < n; i++) dst[(this.w + i) % this.cap] = src[i];
      }
      this.w = (this.w + n) % this.cap;
      this.fill = Math.min(this.cap, this.fill + n);
      // Too much queued: drop the oldest down to the target.
      if (this.fill > this.target * 2 + 960) {
        const drop = this.fill - this.target;
        this.r = (this.r + drop) % this.cap; this.fill -= drop;
      }
    };
  }
  process(_in, outs) {
    const out = outs[0], n = out[0].length;
    if (!this.started && this.fill < this.target) return true;
    this.started = true;
    if (this.fill < n) { this.underruns++; this.started = false; return true; }
    for (let c = 0; c < out.length; c++) {
      const src = this.bufs[Math.min(c, this.bufs.length - 1)];
      for (let i = 0; i < n; i++) out[c][i] = src[(this.r + i) % this.cap];
    }
    this.r = (this.r + n) % this.cap; this.fill -= n;
    return true;
  }
}
registerProcessor("strata-ring", StrataRing);
`;

export class AudioPipe {
  private ctx: AudioContext;
  private node: AudioWorkletNode | null = null;
  private dec: AudioDecoder;
  private ready: Promise<void>;
  private closed = false;
  decoded = 0;
  bytes = 0;

  constructor(
    private readonly sampleRate: number,
    private readonly channels: number,
    private targetMs: number,
    onError: (msg: string) => void,
  ) {
    this.ctx = new AudioContext({ latencyHint: "interactive", sampleRate });
    this.ready = this.init();
    this.dec = new AudioDecoder({
      output: (d) => this.onData(d),
      error: (e) => onError(`audio decoder: ${e.message}`),
    });
    this.dec.configure({ codec: "opus", sampleRate, numberOfChannels: channels });
  }

  private async init(): Promise<void> {
    const url = URL.createObjectURL(new Blob([WORKLET], { type: "text/javascript" }));
    try {
      await this.ctx.audioWorklet.addModule(url);
    } finally {
      URL.revokeObjectURL(url);
    }
    if (this.closed) return;
    this.node = new AudioWorkletNode(this.ctx, "strata-ring", {
      outputChannelCount: [this.channels],
      processorOptions: { channels: this.channels, capacity: this.sampleRate, target: this.samples(this.targetMs) },
    });
    this.node.connect(this.ctx.destination);
  }

  private samples(ms: number): number {
    return Math.round((Math.max(ms, 20) * this.sampleRate) / 1000);
  }

  /** Follows the video playout delay (ms). */
  setTarget(ms: number): void {
    if (Math.abs(ms - this.targetMs) < 5) return;
    this.targetMs = ms;
    this.node?.port.postMessage({ target: this.samples(ms + 20) });
  }

  /** Resumes a context the autoplay policy suspended (call on a gesture). */
  resume(): void {
    if (this.ctx.state === "suspended") void this.ctx.resume();
  }

  get running(): boolean {
    return this.ctx.state === "running";
  }

  object(o: MoqObject): void {
    if (this.closed || o.status !== STATUS_NORMAL || o.payload.length === 0) return;
    this.bytes += o.payload.length;
    if (this.dec.state !== "configured") return;
    this.dec.decode(new EncodedAudioChunk({ type: "key", timestamp: captureMicros(o), data: o.payload }));
  }

  private onData(d: AudioData): void {
    this.decoded++;
    if (!this.node || this.closed) {
      d.close();
      return;
    }
    const planes: Float32Array[] = [];
    for (let c = 0; c < d.numberOfChannels; c++) {
      const p = new Float32Array(d.numberOfFrames);
      d.copyTo(p, { planeIndex: c, format: "f32-planar" });
      planes.push(p);
    }
    d.close();
    this.node.port.postMessage({ planes }, planes.map((p) => p.buffer));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.dec.close();
    } catch {
      /* closed */
    }
    this.node?.disconnect();
    void this.ctx.close();
    void this.ready.catch(() => undefined);
  }
}
