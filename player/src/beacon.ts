// Viewer beacons: what this viewer experienced (first frame time,
// glass-to-glass latency, stalls, frame rate), sent to the edge it watches
// from every few seconds and when playback ends, so operators see real
// viewers' experience next to the edge's load (strata_viewer_* metrics).

import type { Transport } from "./element";
import { STALL_MS } from "./video";

/** How often a beacon is sent while playing. */
export const BEACON_INTERVAL_MS = 10_000;
/** Glass-to-glass samples kept per interval (its median is sent). */
const MAX_G2G = 2048;
/** Stalls listed per beacon (the edge takes at most 32). */
const MAX_STALLS = 32;

/** The JSON body the edge's POST /v1/sessions/{id}/beacon takes. */
export interface BeaconBody {
  transport: Transport;
  watch_ms: number;
  first_frame_ms?: number;
  glass_to_glass_ms?: number;
  fps?: number;
  stalls_ms?: number[];
}

/** The edge's beacon URL for a session, on the HTTPS listener at base (an origin or URL on it). */
export function beaconURL(base: string, session: string): string {
  return `${new URL(base).origin}/v1/sessions/${encodeURIComponent(session)}/beacon`;
}

/**
 * Beacon measures one playback (one transport, from its first frame) and
 * reports it every intervalMs and once more on close or page hide. The
 * element calls frame() for each frame shown.
 */
export class Beacon {
  private timer = 0;
  private start = 0; // performance.now() the current interval began
  private last = 0; // the last frame shown
  private frames = 0;
  private g2g: number[] = [];
  private stalls: number[] = [];
  private firstFrameMs: number | null;
  private closed = false;
  /** Beacons sent, and the last answer's status (0 for a network failure). */
  sent = 0;
  lastStatus: number | null = null;

  constructor(
    private readonly url: string,
    private readonly token: () => string,
    private readonly transport: Transport,
    firstFrameMs: number,
    intervalMs = BEACON_INTERVAL_MS,
    /** The edge refused a beacon's token as expired. */
    private readonly onExpired: () => void = () => undefined,
  ) {
    this.firstFrameMs = firstFrameMs;
    this.start = this.last = performance.now();
    this.timer = setInterval(() => this.send(false), intervalMs) as unknown as number;
    addEventListener("pagehide", this.leave);
  }

  /** A frame was shown at (performance.now()); g2gMs is its capture-to-display latency when known. */
  frame(at: number, g2gMs: number | null): void {
    if (this.closed) return;
    if (at - this.last > STALL_MS && this.stalls.length < MAX_STALLS) this.stalls.push(at - this.last);
    this.last = at;
    this.frames++;
    if (g2gMs !== null && g2gMs >= 0 && this.g2g.length < MAX_G2G) this.g2g.push(g2gMs);
  }

  /** Ends the playback with a last beacon, sent even if the page is going away. */
  close(): void {
    if (this.closed) return;
    this.send(true);
    this.closed = true;
    clearInterval(this.timer);
    removeEventListener("pagehide", this.leave);
  }

  private leave = () => this.send(true);

  /** The body covering the interval up to now, and a fresh interval; final counts a stall still going on. */
  private take(now: number, final: boolean): BeaconBody {
    const watch = Math.max(0, now - this.start);
    const body: BeaconBody = { transport: this.transport, watch_ms: Math.round(watch) };
    if (this.firstFrameMs !== null) body.first_frame_ms = Math.round(this.firstFrameMs);
    if (this.g2g.length) {
      const s = this.g2g.sort((a, b) => a - b);
      body.glass_to_glass_ms = Math.round(s[Math.floor(s.length / 2)] * 10) / 10;
    }
    if (watch >= 1000) body.fps = Math.round((this.frames * 10000) / watch) / 10;
    // A stall still going on when playback ends counts up to now; one
    // going on at an interval's end is counted when it ends.
    if (final && now - this.last > STALL_MS && this.stalls.length < MAX_STALLS) this.stalls.push(now - this.last);
    if (this.stalls.length) body.stalls_ms = this.stalls.map((x) => Math.round(Math.min(x, 600_000)));
    this.firstFrameMs = null;
    this.g2g = [];
    this.stalls = [];
    this.frames = 0;
    this.start = now;
    return body;
  }

  private send(leaving: boolean): void {
    if (this.closed) return;
    const tok = this.token();
    const body = this.take(performance.now(), leaving);
    if (!tok || (body.watch_ms === 0 && body.first_frame_ms === undefined)) return;
    this.sent++;
    fetch(this.url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${tok}` },
      body: JSON.stringify(body),
      keepalive: leaving,
    }).then(
      (r) => {
        this.lastStatus = r.status;
        if (r.status === 401 && !leaving) {
          r.json().then(
            (b) => b?.error?.code === "token_expired" && this.onExpired(),
            () => undefined,
          );
        }
      },
      () => {
        this.lastStatus = 0;
      },
    );
  }
}
