// What every MoQ Transport version's session shares: objects, errors, the
// callbacks tracks deliver through, and the publication of a track.

import { BufReader, EOFError, type IntEncoding, MAX_OBJECT, ProtocolError, type StreamReader, Writer } from "./wire";

/** Object status codes (the same in every draft Strata speaks). */
export const STATUS_NORMAL = 0x0;
export const STATUS_END_OF_GROUP = 0x3;
/** PUBLISH_DONE status when the publisher stops its track. */
export const DONE_TRACK_ENDED = 0x2;
/** Session close codes for a refused token (the same in drafts 14 to 18). */
export const CODE_UNAUTHORIZED = 0x2;
export const CODE_MALFORMED_TOKEN = 0x16;
export const CODE_EXPIRED_TOKEN = 0x18;

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
    /** The edge refused the token as expired (a new one would do). */
    readonly expired = false,
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

/** A MoQ session as the element uses it, whatever the version. */
export interface MoqSession {
  readonly wt: WebTransport;
  /** The negotiated MoQ Transport draft number (14 or 18). */
  readonly draft: number;
  /** Resolves once the session is over, with the reason. */
  readonly closed: Promise<MoqError>;
  readonly error: MoqError | null;
  /** Smoothed control round-trip estimate (ms), from SUBSCRIBE -> OK. */
  readonly rttMs: number;
  /** Subscribes to ns/track from its largest object on. */
  subscribe(ns: string[], track: string, cb: TrackCallbacks): Promise<number>;
  /** Publishes ns/track and waits for the peer to accept it. */
  publish(ns: string[], track: string): Promise<MoqPublication>;
  close(): void;
}

/** What a publication needs from its session. */
export interface PublicationHost {
  readonly wt: WebTransport;
  readonly error: MoqError | null;
  readonly enc: IntEncoding;
  /** Ends the publication on the wire (PUBLISH_DONE) after its streams. */
  publishDone(req: number, streams: number): Promise<void>;
}

/** Subgroup stream type: subgroup id 0, no extensions, priority present. */
const SUBGROUP_ZERO = 0x10;

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
    private readonly s: PublicationHost,
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
    const obj = new Writer(this.s.enc).varint(0).varint(payload.length).bytes(payload).finish();
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
    const hdr = new Writer(this.s.enc).varint(SUBGROUP_ZERO).varint(this.alias).varint(this.group++).u8(0).finish();
    wr.write(hdr).catch(() => undefined);
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

/** An AUTHORIZATION TOKEN value: alias type USE_VALUE (3), token type 0. */
export function tokenParam(token: Uint8Array, enc: IntEncoding): Uint8Array {
  return new Writer(enc).varint(3).varint(0).bytes(token).finish();
}

/**
 * Reads an extension (property) block: key-value pairs until the block
 * ends, even types with a number, odd types with bytes. From draft 16 on
 * each type is a delta from the one before.
 */
export function readExtensions(r: BufReader, into: Map<number, number | Uint8Array>, deltaTypes: boolean): void {
  let k = 0;
  while (r.remaining > 0) {
    k = deltaTypes ? k + r.varint() : r.varint();
    into.set(k, k & 1 ? r.lenBytes() : r.varint());
  }
}

/** The error for a session the edge closed. */
export function closeError(code: number, reason: string): MoqError {
  switch (code) {
    case CODE_UNAUTHORIZED:
    case CODE_MALFORMED_TOKEN:
    case CODE_EXPIRED_TOKEN:
      return new MoqError(`bad token (${reason || "unauthorized"})`, code, "auth", code === CODE_EXPIRED_TOKEN);
  }
  return new MoqError(`session closed by the edge${reason ? ": " + reason : ""} (code ${code})`, code, "closed");
}

/** Request error codes whose meaning the player explains, per draft. */
export interface RequestCodes {
  unauthorized: number;
  malformedToken: number;
  expiredToken: number;
  doesNotExist: number;
}

/** The error for a refused SUBSCRIBE. */
export function subscribeError(codes: RequestCodes, code: number, reason: string): MoqError {
  switch (code) {
    case codes.unauthorized:
    case codes.malformedToken:
    case codes.expiredToken:
      return new MoqError(`bad token (${reason})`, code, "auth", code === codes.expiredToken);
    case codes.doesNotExist:
      return new MoqError("session not live or ended", code, "not-found");
  }
  return new MoqError(`subscribe failed: ${reason} (code ${code})`, code, "protocol");
}

/** A subgroup stream's header fields, from its stream type. */
interface SubgroupType {
  extensions: boolean;
  /** 0: subgroup id 0; 1: the first object's id; 2: in the header. */
  idMode: number;
  priority: boolean;
}

/**
 * Reads a subgroup stream type, or null for another kind of stream.
 * Draft 14 uses 0x10-0x1d; draft 18 adds DEFAULT_PRIORITY (0x20, no
 * priority field) and FIRST_OBJECT (0x40) bits.
 */
function subgroupType(t: number, draft: number): SubgroupType | null {
  const flags = draft >= 18 ? 0x60 : 0;
  if ((t & ~(0x0f | flags)) !== 0x10) return null;
  const idMode = (t & 0x06) >> 1;
  if (idMode === 3) return null;
  return { extensions: (t & 0x01) !== 0, idMode, priority: (t & 0x20) === 0 };
}

/** How a session hands a data stream's objects to their track. */
export interface DataStreamHost {
  readonly draft: number;
  readonly enc: IntEncoding;
  /** The subscription for a track alias, waiting briefly for its OK. */
  track(alias: number): Promise<TrackCallbacks | undefined>;
  /** Whether the session is over (errors are then expected). */
  readonly error: MoqError | null;
}

/**
 * Reads one unidirectional data stream whose type was already read:
 * a subgroup header, then objects until FIN. Anything else is refused.
 */
export async function readSubgroup(host: DataStreamHost, r: StreamReader, t: number): Promise<void> {
  let cancelled = false;
  try {
    const st = subgroupType(t, host.draft);
    if (!st) {
      await r.cancel("not a subgroup stream");
      return;
    }
    const alias = await r.varint();
    const group = await r.varint();
    if (st.idMode === 2) await r.varint(); // explicit subgroup id
    if (st.priority) await r.u8(); // publisher priority
    const cb = await host.track(alias);
    if (!cb) {
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
    cb.stream?.(gs);
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
      if (st.extensions) {
        const n = await r.varint();
        if (n > 1 << 16) throw new ProtocolError("extension block too long");
        if (n > 0) readExtensions(new BufReader(await r.bytes(n), host.enc), ext, host.draft >= 16);
      }
      const len = await r.varint();
      let status = STATUS_NORMAL;
      let payload: Uint8Array = new Uint8Array(0);
      if (len === 0) status = await r.varint();
      else if (len > MAX_OBJECT) throw new ProtocolError("object too large");
      else payload = await r.bytes(len);
      cb.object({ group, id, status, ext, payload, arrival: performance.now() }, gs);
    }
  } catch (e) {
    if (!cancelled && !host.error) console.debug("strata: data stream ended", e);
  }
}

/**
 * Track aliases to their subscriptions. A data stream can arrive before
 * the answer that names its alias, so a lookup waits briefly for it.
 */
export class AliasTable {
  private byAlias = new Map<number, TrackCallbacks>();
  private waiters = new Map<number, Array<() => void>>();

  set(alias: number, cb: TrackCallbacks): void {
    this.byAlias.set(alias, cb);
    for (const w of this.waiters.get(alias) ?? []) w();
    this.waiters.delete(alias);
  }

  /** The subscription for alias, waiting up to ms for it to be set. */
  async get(alias: number, ms: number): Promise<TrackCallbacks | undefined> {
    const cb = this.byAlias.get(alias);
    if (cb) return cb;
    await new Promise<void>((res) => {
      const list = this.waiters.get(alias) ?? [];
      list.push(res);
      this.waiters.set(alias, list);
      setTimeout(res, ms);
    });
    return this.byAlias.get(alias);
  }
}
