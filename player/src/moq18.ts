// MoQ Transport draft 18 over WebTransport, chosen by the WebTransport
// protocol "moqt-18". Unlike draft 14, each side opens a unidirectional
// control stream that starts with SETUP, every request (SUBSCRIBE,
// PUBLISH) has a bidirectional stream of its own that carries its answer
// and its end, message parameters are typed and delta-coded, and integers
// use the leading-ones encoding.

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
import { BufReader, EOFError, frame, ProtocolError, StreamReader, Writer } from "./wire";

/** The WebTransport protocol (and QUIC ALPN) for draft 18. */
export const PROTOCOL18 = "moqt-18";

// Message types (draft 18).
const T_SETUP = 0x2f00;
const T_SUBSCRIBE = 0x03;
const T_SUBSCRIBE_OK = 0x04;
const T_REQUEST_ERROR = 0x05;
const T_REQUEST_OK = 0x07;
const T_PUBLISH_DONE = 0x0b;
const T_GOAWAY = 0x10;
const T_PUBLISH = 0x1d;
/** Listed for PUBLISH_OK in the message table; the text makes it a REQUEST_OK. */
const T_PUBLISH_OK = 0x1e;

// Setup options.
const OPT_AUTH_TOKEN = 0x03;
const OPT_IMPLEMENTATION = 0x07;

// Message parameters.
const P_AUTH_TOKEN = 0x03;
const P_SUBSCRIBER_PRIORITY = 0x20;
const P_SUBSCRIPTION_FILTER = 0x21;
const P_GROUP_ORDER = 0x22;

/** Subscription filter type: from the largest object on. */
const FILTER_LARGEST_OBJECT = 0x2;

/** REQUEST_ERROR codes (draft 18). */
const CODES: RequestCodes = { unauthorized: 0x1, malformedToken: 0x4, expiredToken: 0x5, doesNotExist: 0x10 };

const IMPLEMENTATION = new TextEncoder().encode("strata-player");

/** One request's stream: its writer, and a reader for its answers. */
interface RequestStream {
  w: WritableStreamDefaultWriter<Uint8Array>;
  r: StreamReader;
}

export class Draft18Session implements MoqSession {
  readonly draft = 18;
  readonly enc = "moqt";
  private nextReq = 0;
  private nextAlias = 0;
  private aliases = new AliasTable();
  /** Request streams of live publications, by request ID. */
  private pubStreams = new Map<number, RequestStream>();
  private closedErr: MoqError | null = null;
  private readonly token: Uint8Array;
  readonly closed: Promise<MoqError>;
  private closeResolve!: (e: MoqError) => void;
  private serverSetup!: () => void;
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

  /** Sends SETUP on a new control stream and waits for the edge's. */
  async setup(): Promise<void> {
    const got = new Promise<void>((res) => (this.serverSetup = res));
    void this.acceptStreams();
    const ctrl = (await this.wt.createUnidirectionalStream()).getWriter();
    const opts = new Writer(this.enc);
    // Setup options are key-value pairs with delta-coded types, in order.
    opts.varint(OPT_AUTH_TOKEN).lenBytes(tokenParam(this.token, this.enc));
    opts.varint(OPT_IMPLEMENTATION - OPT_AUTH_TOKEN).lenBytes(IMPLEMENTATION);
    await ctrl.write(frame(T_SETUP, opts.finish(), this.enc));
    await Promise.race([got, this.closed.then((e) => Promise.reject(e))]);
  }

  /** Reads the edge's unidirectional streams: its control stream, and data. */
  private async acceptStreams(): Promise<void> {
    const rd = this.wt.incomingUnidirectionalStreams.getReader();
    try {
      for (;;) {
        const { value, done } = await rd.read();
        if (done) return;
        const r = new StreamReader(value as ReadableStream<Uint8Array>, this.enc);
        void r.varint().then(
          (t) => (t === T_SETUP ? this.controlLoop(r) : readSubgroup(this, r, t)),
          () => undefined,
        );
      }
    } catch {
      /* session over */
    }
  }

  /** The edge's control stream: SETUP (its options are not needed), then GOAWAY at most. */
  private async controlLoop(r: StreamReader): Promise<void> {
    try {
      await r.bytes(await r.u16());
      this.serverSetup();
      for (;;) {
        const type = await r.varint();
        await r.bytes(await r.u16());
        if (type === T_GOAWAY) return this.fail(new MoqError("edge is going away", 0, "closed"));
      }
    } catch (e) {
      this.fail(new MoqError(`control stream: ${e}`, 0, e instanceof ProtocolError ? "protocol" : "closed"));
    }
  }

  track(alias: number): Promise<TrackCallbacks | undefined> {
    return this.aliases.get(alias, 2000);
  }

  /** Opens a request stream with its first message. */
  private async request(type: number, payload: Uint8Array): Promise<RequestStream> {
    if (this.closedErr) throw this.closedErr;
    try {
      const bidi = await this.wt.createBidirectionalStream();
      const rs = { w: bidi.writable.getWriter(), r: new StreamReader(bidi.readable, this.enc) };
      await rs.w.write(frame(type, payload, this.enc));
      return rs;
    } catch (e) {
      throw await this.why(e);
    }
  }

  /**
   * The error to report for a failed stream operation: the session's end
   * when it ended, since a refused setup token (checked after SETUP) closes
   * the session with a code that arrives just after the failure.
   */
  private async why(e: unknown): Promise<unknown> {
    return (await Promise.race([this.closed, new Promise<null>((res) => setTimeout(() => res(null), 500))])) ?? e;
  }

  /** Reads the next message on a request stream; null at its end. */
  private async answer(rs: RequestStream): Promise<[number, BufReader] | null> {
    const next = (async (): Promise<[number, BufReader] | null> => {
      let type = -1;
      try {
        type = await rs.r.varint();
        const len = await rs.r.u16();
        return [type, new BufReader(await rs.r.bytes(len), this.enc)];
      } catch (e) {
        // A FIN between messages ends the request; within one, it is cut.
        if (e instanceof EOFError && type < 0) return null;
        throw await this.why(e instanceof EOFError ? new ProtocolError("request stream ended mid-message") : e);
      }
    })();
    return Promise.race([next, this.closed.then((e) => Promise.reject(e))]);
  }

  /** Starts a request: its ID, its stream, and its first answer. */
  private async ask(build: (w: Writer, req: number) => void, type: number): Promise<[RequestStream, number, BufReader]> {
    const req = this.nextReq;
    this.nextReq += 2;
    const w = new Writer(this.enc);
    build(w, req);
    const rs = await this.request(type, w.finish());
    const a = await this.answer(rs);
    if (!a) throw new MoqError("edge closed the request without an answer", 0, "protocol");
    return [rs, a[0], a[1]];
  }

  private tokenParam(w: Writer, prev: number): number {
    w.varint(P_AUTH_TOKEN - prev).lenBytes(tokenParam(this.token, this.enc));
    return P_AUTH_TOKEN;
  }

  async subscribe(ns: string[], track: string, cb: TrackCallbacks): Promise<number> {
    const t0 = performance.now();
    const [rs, type, r] = await this.ask((w, req) => {
      w.varint(req);
      writeName(w, ns, track);
      w.varint(4); // parameters, in ascending type order
      let t = this.tokenParam(w, 0);
      w.varint(P_SUBSCRIBER_PRIORITY - t).u8(track === "audio" ? 0 : 1); // audio first
      t = P_SUBSCRIBER_PRIORITY;
      w.varint(P_SUBSCRIPTION_FILTER - t).lenBytes(new Writer(this.enc).varint(FILTER_LARGEST_OBJECT).finish());
      t = P_SUBSCRIPTION_FILTER;
      w.varint(P_GROUP_ORDER - t).u8(1); // ascending
    }, T_SUBSCRIBE);
    if (type === T_REQUEST_ERROR) {
      const [code, reason] = readRequestError(r);
      throw subscribeError(CODES, code, reason);
    }
    if (type !== T_SUBSCRIBE_OK) throw new MoqError(`expected SUBSCRIBE_OK, got 0x${type.toString(16)}`, 0, "protocol");
    // Parameters and track properties follow the alias; none is needed.
    const alias = r.varint();
    this.aliases.set(alias, cb);
    const rtt = performance.now() - t0;
    this.rttMs = this.rttMs === 0 ? rtt : this.rttMs * 0.8 + rtt * 0.2;
    void this.watchSubscription(rs, cb);
    return alias;
  }

  /** Waits on a subscription's stream for PUBLISH_DONE or its end. */
  private async watchSubscription(rs: RequestStream, cb: TrackCallbacks): Promise<void> {
    try {
      for (;;) {
        const a = await this.answer(rs);
        if (!a) return;
        if (a[0] === T_PUBLISH_DONE) {
          const status = a[1].varint();
          a[1].varint(); // stream count
          cb.done?.(status, a[1].string());
        }
      }
    } catch {
      /* stream reset or session over */
    }
  }

  /**
   * Publishes ns/track with PUBLISH on a request stream and waits for its
   * PUBLISH_OK. The edge ends the publication by ending that stream.
   */
  async publish(ns: string[], track: string): Promise<MoqPublication> {
    const alias = this.nextAlias++;
    let reqID = 0;
    const [rs, type, r] = await this.ask((w, req) => {
      reqID = req;
      w.varint(req);
      writeName(w, ns, track);
      w.varint(alias);
      w.varint(1);
      this.tokenParam(w, 0);
      // No track properties.
    }, T_PUBLISH);
    if (type === T_REQUEST_ERROR) {
      const [code, reason] = readRequestError(r);
      throw new MoqError(`publish refused: ${reason} (code ${code})`, code, code === CODES.unauthorized ? "auth" : "protocol");
    }
    if (type !== T_REQUEST_OK && type !== T_PUBLISH_OK) throw new MoqError(`expected PUBLISH_OK, got 0x${type.toString(16)}`, 0, "protocol");
    const pub = new MoqPublication(this, reqID, alias);
    this.pubStreams.set(reqID, rs);
    void (async () => {
      try {
        while (await this.answer(rs));
      } catch {
        /* reset: the edge no longer takes the track */
      }
      pub.done = true;
      this.pubStreams.delete(reqID);
    })();
    return pub;
  }

  /** Sends PUBLISH_DONE on the publication's request stream and ends it. */
  async publishDone(req: number, streams: number): Promise<void> {
    const rs = this.pubStreams.get(req);
    this.pubStreams.delete(req);
    if (!rs) return;
    const w = new Writer(this.enc).varint(DONE_TRACK_ENDED).varint(streams).string("");
    try {
      await rs.w.write(frame(T_PUBLISH_DONE, w.finish(), this.enc));
      await rs.w.close();
    } catch {
      /* closed */
    }
  }

  private fail(e: MoqError): void {
    if (this.closedErr) return;
    this.closedErr = e;
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

/** Writes a full track name: namespace fields, then the name. */
function writeName(w: Writer, ns: string[], track: string): void {
  w.varint(ns.length);
  for (const f of ns) w.string(f);
  w.string(track);
}

/** Reads REQUEST_ERROR: error code, retry interval, reason. */
function readRequestError(r: BufReader): [number, string] {
  const code = r.varint();
  r.varint(); // retry interval
  return [code, r.string()];
}
