// <strata-player session token src>: plays a Strata session over MoQ
// (WebTransport + WebCodecs) and falls back to WHEP, with visible states,
// a stats overlay, and input for controllers.

import { AudioPipe } from "./audio";
import { Beacon, beaconURL } from "./beacon";
import { channelSender, InputCapture, type Send } from "./input";
import { connect, MoqError, STATUS_NORMAL, type MoqObject, type MoqPublication, type MoqSession } from "./moq";
import { wallMicros } from "./stats";
import { STALL_MS, VideoPipe } from "./video";
import { TOKEN_EXPIRED, whep, WhepError, type WhepSession } from "./whep";

export type State = "idle" | "connecting" | "playing" | "buffering" | "waiting" | "error";
export type Transport = "moq" | "whep";

/** What the stats event carries (and the element's stats property). */
export interface PlayerStats {
  state: State;
  transport: Transport | null;
  firstFrameMs: number | null;
  fps: number;
  bitrateKbps: number;
  framesDecoded: number;
  framesRendered: number;
  framesDropped: number;
  skips: number;
  latencyMs: number | null; // playout delay of the jitter buffer
  rttMs: number | null;
  glassToGlassMs: number | null; // latest
  glassToGlassP50Ms: number | null;
  glassToGlassP99Ms: number | null;
  inputSent: number;
  audio: boolean;
  /** The input path's state for controllers: moq (PUBLISH on the MoQ session), the data channel's connecting, open or closed, or failed: why. */
  inputChannel: string | null;
  /** Why MoQ was given up for WHEP, when it was. */
  fallbackReason: string | null;
  /** The MoQ Transport draft negotiated with the edge (14 or 18), over MoQ. */
  moqDraft: number | null;
  /** Viewer beacons sent to the edge this playback, and the last answer's status. */
  beaconsSent: number;
  beaconStatus: number | null;
}

/** The text shown while a session has no live publisher. */
export const WAITING_TEXT = "Waiting for the source…";
/** How often a player waiting for the source tries again. */
const WAIT_RETRY_MS = 2000;
/** Refreshes in a row without playing before an expired token is final. */
const MAX_REFRESHES = 2;

/** Returns a new viewer token for the element's session (the tokenRefresh property). */
export type TokenRefresh = () => string | Promise<string>;

/** Whether the edge refused a token because it expired (MoQ or WHEP). */
function isExpired(e: unknown): boolean {
  if (e instanceof MoqError) return e.kind === "auth" && e.expired;
  return e instanceof WhepError && e.kind === "expired";
}

interface Claims {
  tid?: string;
  sid?: string;
  role?: string;
}

/** Reads a token's claims without verifying it; the edge verifies. */
function claimsOf(token: string): Claims | null {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4))) as Claims;
  } catch {
    return null;
  }
}

function hexBytes(h: string | null): Uint8Array | undefined {
  if (!h || !/^[0-9a-fA-F]{64}$/.test(h)) return undefined;
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

interface CatalogTrack {
  name: string;
  role?: string;
  codec?: string;
  width?: number;
  height?: number;
  samplerate?: number;
  channelConfig?: string;
  targetLatency?: number;
}

const STYLE = `
:host{display:block;position:relative;background:#000;color:#fff;font:13px/1.4 system-ui,sans-serif;overflow:hidden;outline:none}
canvas,video{position:absolute;inset:0;width:100%;height:100%;object-fit:contain}
video{display:none}
.state{position:absolute;left:50%;top:50%;transform:translate(-50%,-50%);padding:8px 14px;border-radius:6px;background:rgba(0,0,0,.65);text-align:center;max-width:80%}
.state[hidden]{display:none}
:host([data-state=error]) .state{background:rgba(150,20,20,.85)}
.stats{position:absolute;left:8px;top:8px;padding:6px 8px;border-radius:4px;background:rgba(0,0,0,.55);font:12px/1.35 ui-monospace,monospace;white-space:pre;pointer-events:none}
.stats[hidden]{display:none}
`;

const scriptOrigin = (() => {
  const s = document.currentScript as HTMLScriptElement | null;
  try {
    return s?.src ? new URL(s.src).origin : location.origin;
  } catch {
    return location.origin;
  }
})();

export class StrataPlayer extends HTMLElement {
  static observedAttributes = ["stats", "token"];

  /**
   * Called when the edge refuses the token as expired: the element
   * reconnects with the token it returns (and sets the token attribute to
   * it). Without one, the element shows "token expired" and plays again
   * when the token attribute changes.
   */
  tokenRefresh: TokenRefresh | null = null;
  private refreshes = 0; // in a row, without reaching playing
  private renewing = false;

  private root: ShadowRoot;
  private canvas: HTMLCanvasElement;
  private video: HTMLVideoElement;
  private stateEl: HTMLDivElement;
  private statsEl: HTMLDivElement;

  private _state: State = "idle";
  private _transport: Transport | null = null;
  private run = 0; // generation: stop() invalidates async work of a previous play()
  private moq: MoqSession | null = null;
  private vp: VideoPipe | null = null;
  private ap: AudioPipe | null = null;
  private wh: WhepSession | null = null;
  private inputPC: WhepSession | null = null;
  private inputPub: MoqPublication | null = null;
  private input: InputCapture | null = null;
  private timer = 0;
  private retry = 0; // the next try while waiting for the source
  private t0 = 0;
  private firstFrameMs: number | null = null;
  private fallbackReason: string | null = null;
  private inputErr: string | null = null;
  private lastBytes = 0;
  private lastFrames = 0;
  private lastTick = 0;
  private whepPrev = { frames: 0, bytes: 0, decoded: 0 };
  private beacon: Beacon | null = null;
  private whepURL = "";
  private _stats: PlayerStats;
  private gesture = () => this.ap?.resume();

  constructor() {
    super();
    this.root = this.attachShadow({ mode: "open" });
    const style = document.createElement("style");
    style.textContent = STYLE;
    this.canvas = document.createElement("canvas");
    this.video = document.createElement("video");
    this.video.playsInline = true;
    this.video.autoplay = true;
    this.video.muted = true; // autoplay policies; unmuted on the first gesture
    this.stateEl = document.createElement("div");
    this.stateEl.className = "state";
    this.stateEl.setAttribute("part", "state");
    this.statsEl = document.createElement("div");
    this.statsEl.className = "stats";
    this.statsEl.setAttribute("part", "stats");
    this.root.append(style, this.canvas, this.video, this.stateEl, this.statsEl);
    this._stats = this.emptyStats();
  }

  connectedCallback(): void {
    if (!this.hasAttribute("tabindex")) this.tabIndex = 0;
    this.statsEl.hidden = !this.hasAttribute("stats");
    this.addEventListener("pointerdown", this.gesture);
    this.addEventListener("keydown", this.gesture);
    this.addEventListener("pointerdown", this.unmute);
    if (this.hasAttribute("autoplay") || this.getAttribute("session")) void this.play();
  }

  disconnectedCallback(): void {
    this.stop();
  }

  attributeChangedCallback(name: string, old: string | null, now: string | null): void {
    if (name === "stats") this.statsEl.hidden = !this.hasAttribute("stats");
    // A new token for a player stopped by an expired one: play again.
    if (name === "token" && now !== old && this._state === "error" && this.dataset.reason === TOKEN_EXPIRED) void this.play();
  }

  private unmute = () => {
    if (this._transport === "whep") this.video.muted = false;
  };

  /** Current state: idle, connecting, playing, buffering, waiting (for the source) or error. */
  get state(): State {
    return this._state;
  }
  /** The transport in use, once connected. */
  get transport(): Transport | null {
    return this._transport;
  }
  /** The latest statistics (also sent as the stats event every second). */
  get stats(): PlayerStats {
    return this._stats;
  }

  private emptyStats(): PlayerStats {
    return {
      state: this._state ?? "idle",
      transport: null,
      firstFrameMs: null,
      fps: 0,
      bitrateKbps: 0,
      framesDecoded: 0,
      framesRendered: 0,
      framesDropped: 0,
      skips: 0,
      latencyMs: null,
      rttMs: null,
      glassToGlassMs: null,
      glassToGlassP50Ms: null,
      glassToGlassP99Ms: null,
      inputSent: 0,
      audio: false,
      fallbackReason: null,
      inputChannel: null,
      moqDraft: null,
      beaconsSent: 0,
      beaconStatus: null,
    };
  }

  private setState(s: State, reason = ""): void {
    const changed = s !== this._state;
    this._state = s;
    this.dataset.state = s;
    const text: Record<State, string> = {
      idle: "",
      connecting: "Connecting…",
      playing: "",
      buffering: "Buffering…",
      waiting: WAITING_TEXT,
      error: `Error: ${reason}`,
    };
    this.stateEl.textContent = text[s];
    this.stateEl.hidden = text[s] === "";
    if (s === "error") this.dataset.reason = reason;
    else delete this.dataset.reason;
    if (changed) this.dispatchEvent(new CustomEvent("statechange", { detail: { state: s, reason } }));
  }

  private fail(run: number, reason: string, kind: string): void {
    if (run !== this.run) return;
    this.teardown();
    this.setState("error", reason);
    this._stats = { ...this._stats, state: "error", fallbackReason: this.fallbackReason };
    this.dispatchEvent(new CustomEvent("error", { detail: { reason, kind } }));
  }

  /**
   * The edge refused the token as expired: with a tokenRefresh callback,
   * reconnect with the token it gives (a few times in a row at most, so a
   * callback handing out stale tokens does not loop); otherwise, or when
   * it fails, show the expired state.
   */
  private async expired(run: number): Promise<void> {
    if (run !== this.run) return;
    this.teardown();
    const refresh = this.tokenRefresh;
    const old = this.getAttribute("token") ?? "";
    if (refresh && this.refreshes < MAX_REFRESHES) {
      this.refreshes++;
      this.setState("connecting");
      try {
        const tok = await refresh();
        if (run !== this.run) return;
        if (tok && tok !== old) {
          this.setAttribute("token", tok);
          return this.start(false);
        }
      } catch (e) {
        console.warn("strata: token refresh failed:", e);
      }
      if (run !== this.run) return;
    }
    this.fail(run, TOKEN_EXPIRED, "expired");
  }

  /**
   * The session has no live publisher (its broadcast is missing, or its
   * tracks ended): say so instead of showing a black picture, and try
   * again every few seconds until the source is back.
   */
  private waitForSource(run: number): void {
    if (run !== this.run) return;
    this.teardown();
    const again = ++this.run;
    this.setState("waiting");
    this._stats = { ...this._stats, state: "waiting" };
    this.retry = setTimeout(() => {
      if (again === this.run) void this.start(true);
    }, WAIT_RETRY_MS) as unknown as number;
  }

  /** Starts (or restarts) playback. */
  async play(): Promise<void> {
    this.stop();
    return this.start(false);
  }

  /** Connects; waiting keeps the waiting state while it does. */
  private async start(waiting: boolean): Promise<void> {
    this.teardown();
    const run = ++this.run;
    this.t0 = performance.now();
    this.firstFrameMs = null;
    this.fallbackReason = null;
    this.inputErr = null;
    this._stats = this.emptyStats();
    this.setState(waiting ? "waiting" : "connecting");
    const session = this.getAttribute("session") ?? "";
    const token = this.getAttribute("token") ?? "";
    const claims = claimsOf(token);
    const tenant = this.getAttribute("tenant") ?? claims?.tid ?? "";
    if (!session) return this.fail(run, "no session", "config");
    if (!claims || !tenant) return this.fail(run, "bad token (malformed)", "auth");
    const controller = claims.role === "controller";
    const whepURL = this.getAttribute("whep") ?? `${scriptOrigin}/whep/${encodeURIComponent(tenant)}/${encodeURIComponent(session)}`;
    this.whepURL = whepURL;
    const want = (this.getAttribute("transport") ?? "auto").toLowerCase();
    const src = this.getAttribute("src");
    this.timer = setInterval(() => this.tick(), 1000) as unknown as number;

    let moqErr: Error | null = null;
    if (want !== "whep" && typeof WebTransport !== "undefined" && src) {
      try {
        await this.playMoQ(run, src, token, tenant, session, controller, whepURL);
        return;
      } catch (e) {
        if (run !== this.run) return;
        moqErr = e as Error;
        this.teardown();
        // Not found over MoQ may be a source that is gone, or a live
        // publisher without a catalog track (third-party MoQ publishers):
        // WHEP tells them apart, and waits only if it finds nothing either.
        if (e instanceof MoqError && e.kind === "not-found" && want === "moq") return this.waitForSource(run);
        if (isExpired(e)) return this.expired(run);
        if (e instanceof MoqError && e.kind === "auth") return this.fail(run, e.message, e.kind);
        if (want === "moq") return this.fail(run, `edge unreachable (${moqErr.message})`, "closed");
        this.fallbackReason = moqErr.message;
        console.warn("strata: MoQ failed, falling back to WHEP:", moqErr.message);
      }
    }
    if (want === "moq") return this.fail(run, "WebTransport is not available", "config");
    try {
      await this.playWHEP(run, token, whepURL, controller);
    } catch (e) {
      const we = e as WhepError;
      const kind = we instanceof WhepError ? we.kind : "closed";
      if (kind === "not-found") return this.waitForSource(run);
      if (kind === "expired") return this.expired(run);
      const why = [moqErr?.message, we.message].filter(Boolean).join("; ");
      this.fail(run, kind === "closed" ? `edge unreachable (${why})` : we.message, kind);
    }
  }

  /** Stops playback and releases every connection. */
  stop(): void {
    this.run++;
    this.teardown();
    if (this._state !== "error") this.setState("idle");
  }

  private teardown(): void {
    clearInterval(this.timer);
    this.beacon?.close();
    this.beacon = null;
    clearTimeout(this.retry);
    this.input?.stop();
    this.input = null;
    this.vp?.close();
    this.vp = null;
    this.ap?.close();
    this.ap = null;
    this.moq?.close();
    this.moq = null;
    this.wh?.close();
    this.wh = null;
    this.inputPC?.close();
    this.inputPC = null;
    this.inputPub = null; // ends with its MoQ session
    this.video.srcObject = null;
  }

  private firstFrame(run: number): void {
    if (run !== this.run) return;
    this.firstFrameMs = performance.now() - this.t0;
    this.refreshes = 0;
    this.startBeacon();
    this.setState("playing");
    this.tick();
    this.dispatchEvent(new CustomEvent("playing", { detail: { transport: this._transport, firstFrameMs: this.firstFrameMs } }));
  }

  /**
   * Starts reporting this playback to the edge it plays from (the WHEP
   * resource's edge after a redirect, else the WHEP endpoint's, which is
   * also the MoQ edge's HTTPS listener). beacon="off" turns it off;
   * beacon-interval sets the period in seconds (default 10, at least 2).
   */
  private startBeacon(): void {
    if (this.getAttribute("beacon") === "off" || !this._transport || this.firstFrameMs === null) return;
    const session = this.getAttribute("session") ?? "";
    const secs = Number(this.getAttribute("beacon-interval")) || 10;
    try {
      const url = beaconURL(this.wh?.resource ?? this.whepURL, session);
      this.beacon = new Beacon(url, () => this.getAttribute("token") ?? "", this._transport, this.firstFrameMs, Math.max(2, secs) * 1000, () => void this.renewToken());
    } catch (e) {
      console.warn("strata: no viewer beacons:", e);
    }
  }

  /**
   * Gets a new token while playing on (the edge refused a beacon's as
   * expired), for the next beacon and the next connection.
   */
  private async renewToken(): Promise<void> {
    const refresh = this.tokenRefresh;
    if (!refresh || this.renewing) return;
    this.renewing = true;
    try {
      const tok = await refresh();
      if (tok) this.setAttribute("token", tok);
    } catch (e) {
      console.warn("strata: token refresh failed:", e);
    } finally {
      this.renewing = false;
    }
  }

  private async playMoQ(run: number, src: string, token: string, tenant: string, session: string, controller: boolean, whepURL: string): Promise<void> {
    // moq-drafts="14" (a comma-separated list) restricts what is offered.
    const drafts = (this.getAttribute("moq-drafts") ?? "").split(",").map(Number).filter((d) => d > 0);
    const moq = await connect(src, { token, certHash: hexBytes(this.getAttribute("cert-hash")), drafts });
    if (run !== this.run) {
      moq.close();
      return;
    }
    this.moq = moq;
    this._transport = "moq";
    const ns = ["strata", tenant, session];
    const catalog = await new Promise<CatalogTrack[]>((res, rej) => {
      moq.subscribe(ns, "catalog", {
        object: (o: MoqObject) => {
          if (o.status !== STATUS_NORMAL || !o.payload.length) return;
          try {
            const c = JSON.parse(new TextDecoder().decode(o.payload)) as { tracks?: CatalogTrack[] };
            res(c.tracks ?? []);
          } catch (e) {
            rej(new MoqError(`bad catalog: ${e}`, 0, "protocol"));
          }
        },
      }).catch(rej);
      setTimeout(() => rej(new MoqError("no catalog", 0, "not-found")), 5000);
    });
    if (run !== this.run) return;
    const vt = catalog.find((t) => t.role === "video" || /^(avc|vp|hev|hvc|av01)/.test(t.codec ?? ""));
    const at = catalog.find((t) => t.role === "audio" || t.codec === "opus");
    if (!vt?.codec) throw new MoqError("catalog has no video track", 0, "not-found");
    const support = await VideoDecoder.isConfigSupported({ codec: vt.codec });
    if (!support.supported) throw new MoqError(`this browser cannot decode ${vt.codec}`, 0, "protocol");
    const target = Number(this.getAttribute("latency")) || vt.targetLatency || 150;
    const onErr = (m: string) => this.fail(run, m, "decode");
    this.vp = new VideoPipe(this.canvas, vt.codec, target, {
      firstFrame: () => this.firstFrame(run),
      frame: (at, g2g) => this.beacon?.frame(at, g2g),
      error: onErr,
    });
    const vp = this.vp;
    // TRACK_ENDED: the publisher left (or the session ended); the edge
    // has nothing more until a publisher returns.
    const ended = (status: number, reason: string) => {
      if (status === 0x2) this.waitForSource(run);
      else console.debug("strata: publish done", status, reason);
    };
    if (at && at.codec === "opus") {
      try {
        this.ap = new AudioPipe(at.samplerate || 48000, Number(at.channelConfig) || 2, vp.playoutMs, onErr);
        const ap = this.ap;
        await moq.subscribe(ns, at.name, { object: (o) => ap.object(o), done: ended });
      } catch (e) {
        if (e instanceof MoqError && e.kind === "auth") throw e;
        console.warn("strata: no audio:", e);
        this.ap?.close();
        this.ap = null;
      }
    }
    await moq.subscribe(ns, vt.name, { object: (o) => vp.object(o), stream: (s) => vp.stream(s), done: ended });
    void moq.closed.then((e) => {
      if (run !== this.run || e.message === "closed") return;
      if (isExpired(e)) return void this.expired(run);
      this.fail(run, e.kind === "auth" ? e.message : `edge unreachable (${e.message})`, e.kind);
    });
    if (controller) this.startMoQInput(run, moq, ns, token, whepURL);
  }

  /**
   * A MoQ viewer with the controller role publishes the session's input
   * track on its own MoQ session (PUBLISH; one group per event), which the
   * edge appends to the session's input track. An edge that refuses it
   * leaves the older path: a WebRTC data channel to the same edge (the
   * WHEP endpoint without media).
   */
  private startMoQInput(run: number, moq: MoqSession, ns: string[], token: string, whepURL: string): void {
    const backlog: string[] = [];
    let send: Send = (m) => {
      if (backlog.length < 256) backlog.push(m);
    };
    this.input = new InputCapture(this, () => this.canvas, (m) => send(m));
    const enc = new TextEncoder();
    let republishing = false;
    const viaMoQ = (pub: MoqPublication): Send => {
      this.inputPub = pub;
      const out: Send = (m) => {
        if (run !== this.run) return;
        if (pub.send(enc.encode(m))) return;
        // The edge ended the track (the session's input restarted): ask again.
        if (backlog.length < 256) backlog.push(m);
        if (republishing || moq.error) return;
        republishing = true;
        send = (q) => {
          if (backlog.length < 256) backlog.push(q);
        };
        moq
          .publish(ns, "input")
          .then((p) => {
            if (run !== this.run) return;
            send = viaMoQ(p);
            for (const q of backlog.splice(0)) send(q);
          })
          .catch((e) => {
            this.inputErr = `failed: ${e.message ?? e}`;
          })
          .finally(() => (republishing = false));
      };
      return out;
    };
    moq
      .publish(ns, "input")
      .then((pub) => {
        if (run !== this.run) return;
        send = viaMoQ(pub);
        for (const m of backlog.splice(0)) send(m);
      })
      .catch((e) => {
        if (run !== this.run) return;
        console.debug("strata: MoQ input refused, using a data channel:", e);
        whep(whepURL, token, { media: false, input: true })
          .then((s) => {
            if (run !== this.run) return s.close();
            this.inputPC = s;
            send = channelSender(s.input as RTCDataChannel);
            for (const m of backlog.splice(0)) send(m);
          })
          .catch((e2) => {
            this.inputErr = `failed: ${e2.message ?? e2}`;
            console.warn("strata: input channel failed:", e2);
          });
      });
  }

  private async playWHEP(run: number, token: string, url: string, controller: boolean): Promise<void> {
    this._transport = "whep";
    this.canvas.style.display = "none";
    this.video.style.display = "block";
    const s = await whep(url, token, { media: true, input: controller, video: this.video });
    if (run !== this.run) return s.close();
    this.wh = s;
    if (controller && s.input) this.input = new InputCapture(this, () => this.video, channelSender(s.input));
    // The edge closes a viewer whose broadcast ended, and a lost network
    // fails the connection: offering again tells the two apart (a session
    // that is not live waits for its source; an unreachable edge fails).
    const lost = () => {
      if (run === this.run) void this.start(true);
    };
    s.pc.addEventListener("connectionstatechange", () => {
      if (s.pc.connectionState === "failed") lost();
    });
    const dtls = s.pc.getReceivers()[0]?.transport;
    if (dtls) {
      dtls.addEventListener("statechange", () => {
        if (dtls.state === "closed" || dtls.state === "failed") lost();
      });
    }
    const onFrame = (now: number, meta: VideoFrameCallbackMetadata) => {
      if (run !== this.run) return;
      if (this.firstFrameMs === null) this.firstFrame(run);
      // Glass-to-glass over WebRTC: the browser's capture time of the
      // frame, from the edge's RTCP sender reports, when it has one.
      const cap = meta.captureTime;
      this.beacon?.frame(now, cap !== undefined && cap > 0 ? meta.expectedDisplayTime - cap : null);
      this.video.requestVideoFrameCallback(onFrame);
    };
    this.video.requestVideoFrameCallback(onFrame);
    void this.video.play().catch(() => undefined);
  }

  private async tick(): Promise<void> {
    const now = performance.now();
    const dt = this.lastTick ? (now - this.lastTick) / 1000 : 1;
    this.lastTick = now;
    const st = this.emptyStats();
    st.state = this._state;
    st.transport = this._transport;
    st.firstFrameMs = this.firstFrameMs;
    st.inputSent = this.input?.sent ?? 0;
    st.fallbackReason = this.fallbackReason;
    st.moqDraft = this._transport === "moq" ? (this.moq?.draft ?? null) : null;
    st.inputChannel =
      this.inputErr ?? (this.inputPub ? (this.inputPub.done ? "moq-closed" : "moq") : null) ?? this.inputPC?.input?.readyState ?? this.wh?.input?.readyState ?? null;
    if (this.vp) {
      const vp = this.vp;
      const bytes = vp.bytes + (this.ap?.bytes ?? 0);
      st.framesDecoded = vp.decoded;
      st.framesRendered = vp.rendered;
      st.framesDropped = vp.dropped;
      st.skips = vp.skips;
      st.fps = Math.max(0, (vp.rendered - this.lastFrames) / dt);
      st.bitrateKbps = Math.max(0, ((bytes - this.lastBytes) * 8) / 1000 / dt);
      this.lastFrames = vp.rendered;
      this.lastBytes = bytes;
      st.latencyMs = vp.playoutMs;
      st.rttMs = this.moq?.rttMs ?? null;
      if (vp.g2g.length) {
        st.glassToGlassP50Ms = vp.g2g.quantile(0.5);
        st.glassToGlassP99Ms = vp.g2g.quantile(0.99);
      }
      st.audio = !!this.ap?.running;
      this.ap?.setTarget(vp.playoutMs);
      if (this._state === "playing" && now - vp.lastRender > STALL_MS) this.setState("buffering");
      else if (this._state === "buffering" && now - vp.lastRender < STALL_MS) this.setState("playing");
    } else if (this.wh) {
      await this.whepStats(st, dt);
    }
    st.beaconsSent = this.beacon?.sent ?? 0;
    st.beaconStatus = this.beacon?.lastStatus ?? null;
    this._stats = st;
    this.renderStats(st);
    this.dispatchEvent(new CustomEvent("stats", { detail: st }));
  }

  private async whepStats(st: PlayerStats, dt: number): Promise<void> {
    const rep = await this.wh?.pc.getStats();
    let bytes = 0;
    rep?.forEach((r) => {
      if (r.type === "inbound-rtp") {
        bytes += r.bytesReceived ?? 0;
        if (r.kind === "video") {
          st.framesDecoded = r.framesDecoded ?? 0;
          st.framesRendered = (r.framesDecoded ?? 0) - (r.framesDropped ?? 0);
          st.framesDropped = r.framesDropped ?? 0;
          if (r.jitterBufferEmittedCount) st.latencyMs = (1000 * (r.jitterBufferDelay ?? 0)) / r.jitterBufferEmittedCount;
        }
        if (r.kind === "audio") st.audio = (r.packetsReceived ?? 0) > 0;
      }
      if (r.type === "candidate-pair" && r.nominated && r.currentRoundTripTime !== undefined) st.rttMs = r.currentRoundTripTime * 1000;
    });
    st.fps = Math.max(0, (st.framesRendered - this.whepPrev.frames) / dt);
    st.bitrateKbps = Math.max(0, ((bytes - this.whepPrev.bytes) * 8) / 1000 / dt);
    this.whepPrev = { frames: st.framesRendered, bytes, decoded: st.framesDecoded };
  }

  private renderStats(st: PlayerStats): void {
    if (this.statsEl.hidden) return;
    const f = (v: number | null, unit = "ms") => (v === null ? "–" : `${Math.round(v)} ${unit}`);
    this.statsEl.textContent = [
      `${st.transport ?? "–"}  ${st.state}`,
      `fps ${st.fps.toFixed(0)}  ${(st.bitrateKbps / 1000).toFixed(2)} Mbit/s`,
      `first frame ${f(st.firstFrameMs)}`,
      `latency ${f(st.latencyMs)}  rtt ${f(st.rttMs)}`,
      `glass-to-glass ${f(st.glassToGlassP50Ms)} (p99 ${f(st.glassToGlassP99Ms)})`,
      `frames ${st.framesRendered}/${st.framesDecoded}  dropped ${st.framesDropped}  skips ${st.skips}`,
      `audio ${st.audio ? "on" : "off"}  input ${st.inputSent}  clock ${new Date(wallMicros() / 1000).toISOString().slice(11, 23)}`,
    ].join("\n");
  }
}
