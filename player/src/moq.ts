// A MoQ Transport draft-14 subscriber over WebTransport: CLIENT_SETUP /
// SERVER_SETUP on the control stream, SUBSCRIBE with the authorization
// token, and subgroup data streams read object by object. It matches the
// Go side in transport/moq/wire byte for byte.

import { BufReader, EOFError, frame, MAX_OBJECT, ProtocolError, StreamReader, Writer } from "./wire";

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

/** Session close and request error codes the player explains. */
export const CODE_UNAUTHORIZED = 0x2;
export const CODE_MALFORMED_TOKEN = 0x16;
export const CODE_EXPIRED_TOKEN = 0x18;
export const SUB_UNAUTHORIZED = 0x1;
export const SUB_NO_TRACK = 0x4;
export const SUB_MALFORMED_TOKEN = 0x10;
export const SUB_EXPIRED_TOKEN = 0x12;
/** PUBLISH_DONE status when the publisher stops its track. */
const DONE_TRACK_ENDED = 0x2;
/** Subgroup stream type: subgroup id 0, no extensions. */
const SUBGROUP_ZERO = 0x10;

export const STATUS_NORMAL = 0x0;
export const STATUS_END_OF_GROUP = 0x3;

/** One object as read from a subgroup stream. */
export interface MoqObject {
  group: number;
  id: number;
  status: number;
  /** Extension headers: even types carry numbers, odd types bytes. */
  ext: Map<number, number | Uint8Array>;
  payload: Uint8Array;
  /** performance.now() when the object was fully read. */
  arrival: number;
}

/** Why a session or request ended, for the element's error state. */
export class MoqError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly kind: "auth" | "not-found" | "closed" | "protocol",
  ) {
    super(message);
  }
}

/** Handed to a track's stream callback so it can abandon a group. */
export interface GroupStream {
  group: number;
  cancel(): void;
}

export interface TrackCallbacks {
  object(o: MoqObject, s: GroupStream): void;
  /** A subgroup stream started (before its first object). */
  stream?(s: GroupStream): void;
  done?(status: number, reason: string): void;
}

interface Sub {
  req: number;
  alias?: number;
  cb: TrackCallbacks;
  ok: (alias: number) => void;
  fail: (e: Error) => void;
}

interface PendingPublish {
  ok: () => void;
  fail: (e: Error) => void;
}

/**
 * A track this endpoint publishes with PUBLISH (a publisher-initiated
 * subscription). Objects go in order on one subgroup stream, a group
 * that lasts as long as the stream, so events such as input keep their
 * order and pay no stream setup each; a failed stream starts a new group.
 */
export class MoqPublication {
  private group: number;
  private streams = 0;
  private opening: Promise<WritableStreamDefaultWriter<Uint8Array>> | null = null;
  /** Set when the track is over: closed here or unsubscribed by the edge. */
  done = false;

  constructor(
    private readonly s: MoqSession,
    readonly req: number,
    readonly alias: number,
  ) {
    // Group IDs only need to increase; wall-clock ms keeps them unique
    // across reconnects.
    this.group = Date.now();
  }

  /** Queues one object; false once the track is over. */
  send(payload: Uint8Array): boolean {
    if (this.done || this.s.error) return false;
    // Object IDs run 0, 1, 2... in the group: every delta is 0.
    const obj = new Writer().varint(0).varint(payload.length).bytes(payload).finish();
    if (!this.opening) this.opening = this.open();
    const opening = this.opening;
    opening
      .then((wr) => wr.write(obj))
      .catch((e) => {
        if (this.opening === opening) this.opening = null;
        console.debug("strata: publish stream failed:", e);
      });
    return true;
  }

  private async open(): Promise<WritableStreamDefaultWriter<Uint8Array>> {
    this.streams++;
    const st = await this.s.wt.createUnidirectionalStream();
    const wr = st.getWriter();
    // A failed header write fails the object writes queued behind it too.
    wr.write(new Writer().varint(SUBGROUP_ZERO).varint(this.alias).varint(this.group++).u8(0).finish()).catch(() => undefined);
    return wr;
  }

  /** Ends the track: FIN on the stream, then PUBLISH_DONE. */
  async close(): Promise<void> {
    if (this.done) return;
    this.done = true;
    try {
      await (await this.opening)?.close();
    } catch {
      /* stream already gone */
    }
    await this.s.publishDone(this.req, this.streams);
  }
}

function tokenParam(token: Uint8Array): Uint8Array {
  // AUTHORIZATION TOKEN by value: alias type USE_VALUE (3), token type 0.
  return new Writer().varint(3).varint(0).bytes(token).finish();
}

export interface ConnectOptions {
  token: string;
  /** SHA-256 of a self-signed certificate (serverCertificateHashes). */
  certHash?: Uint8Array;
  timeoutMs?: number;
}

export class MoqSession {
  private ctrl!: WritableStreamDefaultWriter<Uint8Array>;
  private ctrlR!: StreamReader;
  private nextReq = 0;
  private peerMax = 0;
  private subs = new Map<number, Sub>();
  private pubs = new Map<number, PendingPublish>();
  private live = new Map<number, MoqPublication>();
  private nextAlias = 0;
  private byAlias = new Map<number, Sub>();
  private aliasWaiters = new Map<number, Array<() => void>>();
  private closedErr: MoqError | null = null;
  private readonly token: Uint8Array;
  /** Resolves once the session is over, with the reason. */
  readonly closed: Promise<MoqError>;
  private closeResolve!: (e: MoqError) => void;
  /** Smoothed control round-trip estimate (ms), from SUBSCRIBE -> OK. */
  rttMs = 0;

  private constructor(
    readonly wt: WebTransport,
    token: string,
  ) {
    this.token = new TextEncoder().encode(token);
    this.closed = new Promise((res) => (this.closeResolve = res));
  }

  static async connect(url: string, opts: ConnectOptions): Promise<MoqSession> {
    const wtOpts: WebTransportOptions = {};
    if (opts.certHash && opts.certHash.length === 32) {
      wtOpts.serverCertificateHashes = [{ algorithm: "sha-256", value: opts.certHash as BufferSource }];
    }
    const wt = new WebTransport(url, wtOpts);
    const s = new MoqSession(wt, opts.token);
    const timeout = opts.timeoutMs ?? 4000;
    let timer = 0;
    try {
      await Promise.race([
        s.setup(),
        new Promise((_, rej) => {
          timer = setTimeout(() => rej(new MoqError("MoQ connect timed out", 0, "closed")), timeout) as unknown as number;
        }),
      ]);
    } catch (e) {
      // The edge may be closing the session with a reason (a refused
      // token) that arrives just after the failed read: wait for it briefly.
      if (!s.closedErr) await Promise.race([s.closed, new Promise((res) => setTimeout(res, 500))]);
      const err = s.closedErr ?? e;
      s.close();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return s;
  }

  private async setup(): Promise<void> {
    this.wt.closed.then(
      (info) => this.fail(closeError(info.closeCode ?? 0, info.reason ?? "")),
      (e) => this.fail(new MoqError(`WebTransport failed: ${e}`, 0, "closed")),
    );
    await this.wt.ready;
    const bidi = await this.wt.createBidirectionalStream();
    this.ctrl = bidi.writable.getWriter();
    this.ctrlR = new StreamReader(bidi.readable);
    const p = new Writer().varint(1).varint(DRAFT14);
    p.varint(2);
    p.varint(P_MAX_REQUEST_ID).varint(64);
    p.varint(P_AUTH_TOKEN).lenBytes(tokenParam(this.token));
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
        sub.alias = alias;
        this.byAlias.set(alias, sub);
        for (const w of this.aliasWaiters.get(alias) ?? []) w();
        this.aliasWaiters.delete(alias);
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
        sub.fail(subscribeError(code, reason));
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
        p.fail(new MoqError(`publish refused: ${r.string()} (code ${code})`, code, code === SUB_UNAUTHORIZED ? "auth" : "protocol"));
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
        void this.readDataStream(value as ReadableStream<Uint8Array>);
      }
    } catch {
      /* session over */
    }
  }

  private async waitAlias(alias: number, ms: number): Promise<Sub | undefined> {
    const s = this.byAlias.get(alias);
    if (s) return s;
    await new Promise<void>((res) => {
      const list = this.aliasWaiters.get(alias) ?? [];
      list.push(res);
      this.aliasWaiters.set(alias, list);
      setTimeout(res, ms);
    });
    return this.byAlias.get(alias);
  }

  private async readDataStream(stream: ReadableStream<Uint8Array>): Promise<void> {
    const r = new StreamReader(stream);
    let cancelled = false;
    try {
      const t = await r.varint();
      if (t < 0x10 || t > 0x1d || (t & 0x06) === 0x06) {
        await r.cancel("not a subgroup stream");
        return;
      }
      const withExt = (t & 0x01) !== 0;
      const alias = await r.varint();
      const group = await r.varint();
      if ((t & 0x06) === 0x04) await r.varint(); // explicit subgroup id
      await r.u8(); // publisher priority
      const sub = await this.waitAlias(alias, 2000);
      if (!sub) {
        await r.cancel("unknown track alias");
        return;
      }
      const gs: GroupStream = {
        group,
        cancel: () => {
          cancelled = true;
          void r.cancel("skipped");
        },
      };
      sub.cb.stream?.(gs);
      let prev = -1;
      while (!cancelled) {
        let delta: number;
        try {
          delta = await r.varint();
        } catch (e) {
          if (e instanceof EOFError) return;
          throw e;
        }
        const id = prev < 0 ? delta : prev + delta + 1;
        prev = id;
        const ext = new Map<number, number | Uint8Array>();
        if (withExt) {
          const n = await r.varint();
          if (n > 1 << 16) throw new ProtocolError("extension block too long");
          if (n > 0) readExtensions(new BufReader(await r.bytes(n)), ext);
        }
        const len = await r.varint();
        let status = STATUS_NORMAL;
        let payload: Uint8Array = new Uint8Array(0);
        if (len === 0) status = await r.varint();
        else if (len > MAX_OBJECT) throw new ProtocolError("object too large");
        else payload = await r.bytes(len);
        sub.cb.object({ group, id, status, ext, payload, arrival: performance.now() }, gs);
      }
    } catch (e) {
      if (!cancelled && !this.closedErr) console.debug("strata: data stream ended", e);
    }
  }

  /** Subscribes to ns/track from its largest object on. */
  async subscribe(ns: string[], track: string, cb: TrackCallbacks): Promise<number> {
    if (this.closedErr) throw this.closedErr;
    if (this.nextReq >= this.peerMax) throw new MoqError("no request ids left", 0, "protocol");
    const req = this.nextReq;
    this.nextReq += 2;
    const w = new Writer().varint(req);
    w.varint(ns.length);
    for (const f of ns) w.string(f);
    w.string(track);
    w.u8(track === "audio" ? 0 : 1); // subscriber priority: audio first
    w.u8(1); // group order: ascending
    w.u8(1); // forward
    w.varint(0x2); // filter: largest object
    w.varint(1).varint(P_AUTH_TOKEN).lenBytes(tokenParam(this.token));
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
    if (this.closedErr) throw this.closedErr;
    if (this.nextReq >= this.peerMax) throw new MoqError("no request ids left", 0, "protocol");
    const req = this.nextReq;
    this.nextReq += 2;
    const alias = this.nextAlias++;
    const w = new Writer().varint(req);
    w.varint(ns.length);
    for (const f of ns) w.string(f);
    w.string(track);
    w.varint(alias);
    w.u8(1); // group order: ascending
    w.u8(0); // content exists: no
    w.u8(1); // forward
    w.varint(1).varint(P_AUTH_TOKEN).lenBytes(tokenParam(this.token));
    const done = new Promise<void>((ok, fail) => this.pubs.set(req, { ok, fail }));
    await this.ctrl.write(frame(T_PUBLISH, w.finish()));
    await Promise.race([done, this.closed.then((e) => Promise.reject(e))]);
    const pub = new MoqPublication(this, req, alias);
    this.live.set(req, pub);
    return pub;
  }

  /** Sends PUBLISH_DONE for a publication (no streams left open). */
  async publishDone(req: number, streams: number): Promise<void> {
    this.live.delete(req);
    const w = new Writer().varint(req).varint(DONE_TRACK_ENDED).varint(streams).string("");
    try {
      await this.ctrl.write(frame(T_PUBLISH_DONE, w.finish()));
    } catch {
      /* closed */
    }
  }

  async unsubscribe(req: number): Promise<void> {
    this.subs.delete(req);
    try {
      await this.ctrl.write(frame(T_UNSUBSCRIBE, new Writer().varint(req).finish()));
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

/** Reads an extension block: key-value pairs until the block ends. */
export function readExtensions(r: BufReader, into: Map<number, number | Uint8Array>): void {
  while (r.remaining > 0) {
    const k = r.varint();
    into.set(k, k & 1 ? r.lenBytes() : r.varint());
  }
}

function closeError(code: number, reason: string): MoqError {
  switch (code) {
    case CODE_UNAUTHORIZED:
    case CODE_MALFORMED_TOKEN:
    case CODE_EXPIRED_TOKEN:
      return new MoqError(`bad token (${reason || "unauthorized"})`, code, "auth");
  }
  return new MoqError(`session closed by the edge${reason ? ": " + reason : ""} (code ${code})`, code, "closed");
}

function subscribeError(code: number, reason: string): MoqError {
  switch (code) {
    case SUB_UNAUTHORIZED:
    case SUB_MALFORMED_TOKEN:
    case SUB_EXPIRED_TOKEN:
      return new MoqError(`bad token (${reason})`, code, "auth");
    case SUB_NO_TRACK:
      return new MoqError("session not live or ended", code, "not-found");
  }
  return new MoqError(`subscribe failed: ${reason} (code ${code})`, code, "protocol");
}
