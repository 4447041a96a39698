// MoQ Transport draft 14 over WebTransport: CLIENT_SETUP / SERVER_SETUP
// and every request on one bidirectional control stream, QUIC varints. It
// is what an edge speaks when the browser negotiates no WebTransport
// protocol. It matches the Go side in transport/moq/wire byte for byte.

import {
  AliasTable,
  DONE_TRACK_ENDED,
  MoqError,
  MoqPublication,
  type MoqSession,
  readSubgroup,
  type RequestCodes,
  subscribeError,
  tokenParam,
  type TrackCallbacks,
} from "./moqbase";
import { BufReader, frame, ProtocolError, StreamReader, Writer } from "./wire";

export const DRAFT14 = 0xff00000e;

// Control message types (draft 14).
const T_SUBSCRIBE = 0x03;
const T_SUBSCRIBE_OK = 0x04;
const T_SUBSCRIBE_ERROR = 0x05;
const T_UNSUBSCRIBE = 0x0a;
const T_PUBLISH_DONE = 0x0b;
const T_GOAWAY = 0x10;
const T_MAX_REQUEST_ID = 0x15;
const T_PUBLISH = 0x1d;
const T_PUBLISH_OK = 0x1e;
const T_PUBLISH_ERROR = 0x1f;
const T_CLIENT_SETUP = 0x20;
const T_SERVER_SETUP = 0x21;

const P_MAX_REQUEST_ID = 0x02;
const P_AUTH_TOKEN = 0x03;

/** SUBSCRIBE_ERROR codes (draft 14). */
const CODES: RequestCodes = { unauthorized: 0x1, doesNotExist: 0x4, malformedToken: 0x10, expiredToken: 0x12 };

interface Sub {
  req: number;
  cb: TrackCallbacks;
  ok: (alias: number) => void;
  fail: (e: Error) => void;
}

interface PendingPublish {
  ok: () => void;
  fail: (e: Error) => void;
}

export class Draft14Session implements MoqSession {
  readonly draft = 14;
  readonly enc = "quic";
  private ctrl!: WritableStreamDefaultWriter<Uint8Array>;
  private ctrlR!: StreamReader;
  private nextReq = 0;
  private peerMax = 0;
  private subs = new Map<number, Sub>();
  private pubs = new Map<number, PendingPublish>();
  private live = new Map<number, MoqPublication>();
  private nextAlias = 0;
  private aliases = new AliasTable();
  private closedErr: MoqError | null = null;
  private readonly token: Uint8Array;
  readonly closed: Promise<MoqError>;
  private closeResolve!: (e: MoqError) => void;
  rttMs = 0;

  /** ended resolves when the WebTransport session ends, with why. */
  constructor(
    readonly wt: WebTransport,
    token: string,
    ended: Promise<MoqError>,
  ) {
    this.token = new TextEncoder().encode(token);
    this.closed = new Promise((res) => (this.closeResolve = res));
    void ended.then((e) => this.fail(e));
  }

  /** Runs the setup exchange on a ready WebTransport session. */
  async setup(): Promise<void> {
    const bidi = await this.wt.createBidirectionalStream();
    this.ctrl = bidi.writable.getWriter();
    this.ctrlR = new StreamReader(bidi.readable);
    const p = new Writer().varint(1).varint(DRAFT14);
    p.varint(2);
    p.varint(P_MAX_REQUEST_ID).varint(64);
    p.varint(P_AUTH_TOKEN).lenBytes(tokenParam(this.token, this.enc));
    await this.ctrl.write(frame(T_CLIENT_SETUP, p.finish()));
    const [type, payload] = await this.readMessage();
    if (type !== T_SERVER_SETUP) throw new MoqError(`expected SERVER_SETUP, got 0x${type.toString(16)}`, 0, "protocol");
    const r = new BufReader(payload);
    const version = r.varint();
    if (version !== DRAFT14) throw new MoqError(`server chose version 0x${version.toString(16)}`, 0, "protocol");
    for (const [k, v] of readParams(r)) if (k === P_MAX_REQUEST_ID && typeof v === "number") this.peerMax = v;
    void this.controlLoop();
    void this.acceptStreams();
  }

  private async readMessage(): Promise<[number, Uint8Array]> {
    const type = await this.ctrlR.varint();
    const len = await this.ctrlR.u16();
    return [type, await this.ctrlR.bytes(len)];
  }

  private async controlLoop(): Promise<void> {
    try {
      for (;;) {
        const [type, payload] = await this.readMessage();
        this.handle(type, new BufReader(payload));
      }
    } catch (e) {
      this.fail(e instanceof MoqError ? e : new MoqError(`control stream: ${e}`, 0, e instanceof ProtocolError ? "protocol" : "closed"));
    }
  }

  private handle(type: number, r: BufReader): void {
    switch (type) {
      case T_SUBSCRIBE_OK: {
        const req = r.varint();
        const alias = r.varint();
        const sub = this.subs.get(req);
        if (!sub) return;
        this.aliases.set(alias, sub.cb);
        sub.ok(alias);
        return;
      }
      case T_SUBSCRIBE_ERROR: {
        const req = r.varint();
        const code = r.varint();
        const reason = r.string();
        const sub = this.subs.get(req);
        if (!sub) return;
        this.subs.delete(req);
        sub.fail(subscribeError(CODES, code, reason));
        return;
      }
      case T_PUBLISH_DONE: {
        const req = r.varint();
        const status = r.varint();
        r.varint(); // stream count
        const reason = r.string();
        const sub = this.subs.get(req);
        sub?.cb.done?.(status, reason);
        return;
      }
      case T_PUBLISH_OK:
      case T_PUBLISH_ERROR: {
        const req = r.varint();
        const p = this.pubs.get(req);
        if (!p) return;
        this.pubs.delete(req);
        if (type === T_PUBLISH_OK) return p.ok();
        const code = r.varint();
        p.fail(new MoqError(`publish refused: ${r.string()} (code ${code})`, code, code === CODES.unauthorized ? "auth" : "protocol"));
        return;
      }
      case T_UNSUBSCRIBE: {
        // The edge no longer takes a track this endpoint publishes.
        const req = r.varint();
        const pub = this.live.get(req);
        if (pub) pub.done = true;
        this.live.delete(req);
        return;
      }
      case T_MAX_REQUEST_ID:
        this.peerMax = Math.max(this.peerMax, r.varint());
        return;
      case T_GOAWAY:
        this.fail(new MoqError("edge is going away", 0, "closed"));
        return;
      default:
      // Anything else is not for a subscriber; the length framing lets us skip it.
    }
  }

  private async acceptStreams(): Promise<void> {
    const rd = this.wt.incomingUnidirectionalStreams.getReader();
    try {
      for (;;) {
        const { value, done } = await rd.read();
        if (done) return;
        const r = new StreamReader(value as ReadableStream<Uint8Array>);
        void r.varint().then(
          (t) => readSubgroup(this, r, t),
          () => undefined,
        );
      }
    } catch {
      /* session over */
    }
  }

  /** The subscription for alias, waiting up to 2 s for its SUBSCRIBE_OK. */
  track(alias: number): Promise<TrackCallbacks | undefined> {
    return this.aliases.get(alias, 2000);
  }

  private takeRequestID(): number {
    if (this.closedErr) throw this.closedErr;
    if (this.nextReq >= this.peerMax) throw new MoqError("no request ids left", 0, "protocol");
    const req = this.nextReq;
    this.nextReq += 2;
    return req;
  }

  async subscribe(ns: string[], track: string, cb: TrackCallbacks): Promise<number> {
    const req = this.takeRequestID();
    const w = new Writer().varint(req);
    w.varint(ns.length);
    for (const f of ns) w.string(f);
    w.string(track);
    w.u8(track === "audio" ? 0 : 1); // subscriber priority: audio first
    w.u8(1); // group order: ascending
    w.u8(1); // forward
    w.varint(0x2); // filter: largest object
    w.varint(1).varint(P_AUTH_TOKEN).lenBytes(tokenParam(this.token, this.enc));
    const t0 = performance.now();
    const done = new Promise<number>((ok, fail) => this.subs.set(req, { req, cb, ok, fail }));
    await this.ctrl.write(frame(T_SUBSCRIBE, w.finish()));
    const alias = await Promise.race([done, this.closed.then((e) => Promise.reject(e))]);
    const rtt = performance.now() - t0;
    this.rttMs = this.rttMs === 0 ? rtt : this.rttMs * 0.8 + rtt * 0.2;
    return alias;
  }

  /**
   * Publishes ns/track with PUBLISH and waits for PUBLISH_OK. Objects go
   * out only after the answer, though the request says Forward.
   */
  async publish(ns: string[], track: string): Promise<MoqPublication> {
    const req = this.takeRequestID();
    const alias = this.nextAlias++;
    const w = new Writer().varint(req);
    w.varint(ns.length);
    for (const f of ns) w.string(f);
    w.string(track);
    w.varint(alias);
    w.u8(1); // group order: ascending
    w.u8(0); // content exists: no
    w.u8(1); // forward
    w.varint(1).varint(P_AUTH_TOKEN).lenBytes(tokenParam(this.token, this.enc));
    const done = new Promise<void>((ok, fail) => this.pubs.set(req, { ok, fail }));
    await this.ctrl.write(frame(T_PUBLISH, w.finish()));
    await Promise.race([done, this.closed.then((e) => Promise.reject(e))]);
    const pub = new MoqPublication(this, req, alias);
    this.live.set(req, pub);
    return pub;
  }

  async publishDone(req: number, streams: number): Promise<void> {
    this.live.delete(req);
    const w = new Writer().varint(req).varint(DONE_TRACK_ENDED).varint(streams).string("");
    try {
      await this.ctrl.write(frame(T_PUBLISH_DONE, w.finish()));
    } catch {
      /* closed */
    }
  }

  private fail(e: MoqError): void {
    if (this.closedErr) return;
    this.closedErr = e;
    for (const s of this.subs.values()) s.fail(e);
    this.subs.clear();
    for (const p of this.pubs.values()) p.fail(e);
    this.pubs.clear();
    this.closeResolve(e);
  }

  get error(): MoqError | null {
    return this.closedErr;
  }

  close(): void {
    this.fail(new MoqError("closed", 0, "closed"));
    try {
      this.wt.close({ closeCode: 0, reason: "" });
    } catch {
      /* not open */
    }
  }
}

function readParams(r: BufReader): Array<[number, number | Uint8Array]> {
  const n = r.varint();
  const out: Array<[number, number | Uint8Array]> = [];
  for (let i = 0; i < n; i++) {
    const k = r.varint();
    out.push([k, k & 1 ? r.lenBytes() : r.varint()]);
  }
  return out;
}
