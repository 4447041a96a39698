// Variable-length integers and the byte readers and writers the MoQ
// client is built on. Two integer encodings exist: QUIC's (RFC 9000,
// MoQ Transport up to draft 16) and the leading-ones encoding of draft 17
// on (1 to 9 bytes); each reader and writer is made for one of them.
// Values are JavaScript numbers: every field Strata sends (group ids are
// wall-clock milliseconds) stays below 2^53.

export class ProtocolError extends Error {}
export class EOFError extends Error {}

/** Largest message payload accepted (MoQ control messages use a u16 length). */
export const MAX_MESSAGE = 0xffff;
/** Largest object payload accepted; bounds allocations from the wire. */
export const MAX_OBJECT = 16 << 20;

const TWO32 = 2 ** 32;

/** Which variable-length integer encoding a stream uses. */
export type IntEncoding = "quic" | "moqt";

export class Writer {
  private buf = new Uint8Array(128);
  private n = 0;

  constructor(private readonly enc: IntEncoding = "quic") {}

  private grow(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const nb = new Uint8Array(Math.max(this.buf.length * 2, this.n + k));
    nb.set(this.buf.subarray(0, this.n));
    this.buf = nb;
  }
  u8(v: number): this {
    this.grow(1);
    this.buf[this.n++] = v & 0xff;
    return this;
  }
  u16(v: number): this {
    this.grow(2);
    this.buf[this.n++] = (v >> 8) & 0xff;
    this.buf[this.n++] = v & 0xff;
    return this;
  }
  varint(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new ProtocolError(`varint out of range: ${v}`);
    if (this.enc === "moqt") return this.leadingOnes(v);
    if (v < 0x40) return this.u8(v);
    if (v < 0x4000) return this.u16(0x4000 | v);
    if (v < 0x40000000) {
      this.grow(4);
      this.buf[this.n++] = 0x80 | (v >>> 24);
      this.buf[this.n++] = (v >>> 16) & 0xff;
      this.buf[this.n++] = (v >>> 8) & 0xff;
      this.buf[this.n++] = v & 0xff;
      return this;
    }
    const hi = Math.floor(v / TWO32);
    const lo = v % TWO32;
    this.grow(8);
    this.buf[this.n++] = 0xc0 | (hi >>> 24);
    this.buf[this.n++] = (hi >>> 16) & 0xff;
    this.buf[this.n++] = (hi >>> 8) & 0xff;
    this.buf[this.n++] = hi & 0xff;
    this.buf[this.n++] = lo >>> 24;
    this.buf[this.n++] = (lo >>> 16) & 0xff;
    this.buf[this.n++] = (lo >>> 8) & 0xff;
    this.buf[this.n++] = lo & 0xff;
    return this;
  }
  /**
   * The draft-17+ encoding: the count of leading 1 bits in the first byte
   * is the count of bytes that follow, up to 8 (0xff then 8 bytes).
   */
  private leadingOnes(v: number): this {
    let extra = 0; // bytes after the first
    while (extra < 8 && v >= 2 ** (7 * (extra + 1))) extra++;
    if (extra === 8) {
      this.u8(0xff);
      const hi = Math.floor(v / TWO32);
      return this.u8(hi >>> 24).u8(hi >>> 16).u8(hi >>> 8).u8(hi).u8(v >>> 24).u8(v >>> 16).u8(v >>> 8).u8(v);
    }
    const tail = new Array<number>(extra);
    let rest = v;
    for (let i = extra - 1; i >= 0; i--) {
      tail[i] = rest % 256;
      rest = Math.floor(rest / 256);
    }
    // The first byte: `extra` ones, a zero, then the top bits of v.
    this.u8(((0xff00 >> extra) & 0xff) | rest);
    for (const b of tail) this.u8(b);
    return this;
  }
  bytes(b: Uint8Array): this {
    this.grow(b.length);
    this.buf.set(b, this.n);
    this.n += b.length;
    return this;
  }
  /** A (b) field: varint length, then the bytes. */
  lenBytes(b: Uint8Array): this {
    return this.varint(b.length).bytes(b);
  }
  string(s: string): this {
    return this.lenBytes(new TextEncoder().encode(s));
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.n);
  }
}

/** Frames a control message: type, 16-bit length, payload. */
export function frame(type: number, payload: Uint8Array, enc: IntEncoding = "quic"): Uint8Array {
  if (payload.length > MAX_MESSAGE) throw new ProtocolError("message too long");
  return new Writer(enc).varint(type).u16(payload.length).bytes(payload).finish();
}

/** The length of a variable-length integer from its first byte. */
function varintLen(first: number, enc: IntEncoding): number {
  if (enc === "quic") return 1 << (first >> 6);
  let n = 0;
  while (n < 8 && first & (0x80 >> n)) n++;
  return n === 8 ? 9 : n + 1;
}

/** Reads fields from one bounded buffer (a message payload). */
export class BufReader {
  private off = 0;
  constructor(
    private readonly b: Uint8Array,
    private readonly enc: IntEncoding = "quic",
  ) {}

  get remaining(): number {
    return this.b.length - this.off;
  }
  private need(n: number): void {
    if (this.b.length - this.off < n) throw new ProtocolError("truncated");
  }
  u8(): number {
    this.need(1);
    return this.b[this.off++];
  }
  varint(): number {
    this.need(1);
    const len = varintLen(this.b[this.off], this.enc);
    this.need(len);
    const v = decodeVarint(this.b, this.off, len, this.enc);
    this.off += len;
    return v;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const out = this.b.subarray(this.off, this.off + n);
    this.off += n;
    return out;
  }
  lenBytes(): Uint8Array {
    return this.bytes(this.varint());
  }
  string(): string {
    return new TextDecoder().decode(this.lenBytes());
  }
}

function decodeVarint(b: Uint8Array, off: number, len: number, enc: IntEncoding): number {
  // The first byte keeps the bits after its length prefix: 2 bits of
  // prefix in QUIC's encoding, len-1 ones and a zero in the other.
  let v = enc === "quic" ? b[off] & 0x3f : len >= 8 ? 0 : b[off] & (0x7f >> (len - 1));
  for (let i = 1; i < len; i++) v = v * 256 + b[off + i];
  if (!Number.isSafeInteger(v)) throw new ProtocolError("varint beyond 2^53");
  return v;
}

/** Reads fields from a byte stream (a WebTransport stream). */
export class StreamReader {
  private r: ReadableStreamDefaultReader<Uint8Array>;
  private buf: Uint8Array = new Uint8Array(0);
  private off = 0;
  private end = 0;

  constructor(
    stream: ReadableStream<Uint8Array>,
    private readonly enc: IntEncoding = "quic",
  ) {
    this.r = stream.getReader();
  }

  /** Ensures n bytes are buffered; false at a clean end of stream. */
  private async fill(n: number): Promise<boolean> {
    while (this.end - this.off < n) {
      const { value, done } = await this.r.read();
      if (done) return false;
      if (!value || value.length === 0) continue;
      const rest = this.end - this.off;
      if (rest === 0 && value.length >= n) {
        this.buf = value;
        this.off = 0;
        this.end = value.length;
        continue;
      }
      if (this.off + rest + value.length > this.buf.length) {
        const nb = new Uint8Array(Math.max(n, rest + value.length, rest * 2));
        nb.set(this.buf.subarray(this.off, this.end));
        this.buf = nb;
        this.off = 0;
        this.end = rest;
      }
      this.buf.set(value, this.end);
      this.end += value.length;
    }
    return true;
  }

  /** Reports whether the stream ended with nothing left to read. */
  async atEOF(): Promise<boolean> {
    return !(await this.fill(1));
  }
  async u8(): Promise<number> {
    if (!(await this.fill(1))) throw new EOFError("eof");
    return this.buf[this.off++];
  }
  async u16(): Promise<number> {
    if (!(await this.fill(2))) throw new EOFError("eof");
    const v = (this.buf[this.off] << 8) | this.buf[this.off + 1];
    this.off += 2;
    return v;
  }
  async varint(): Promise<number> {
    if (!(await this.fill(1))) throw new EOFError("eof");
    const len = varintLen(this.buf[this.off], this.enc);
    if (!(await this.fill(len))) throw new ProtocolError("truncated varint");
    const v = decodeVarint(this.buf, this.off, len, this.enc);
    this.off += len;
    return v;
  }
  /** Reads exactly n bytes into a fresh array. */
  async bytes(n: number): Promise<Uint8Array> {
    if (!(await this.fill(n))) throw new ProtocolError("truncated");
    const out = this.buf.slice(this.off, this.off + n);
    this.off += n;
    return out;
  }
  async cancel(reason?: string): Promise<void> {
    try {
      await this.r.cancel(reason);
    } catch {
      /* already closed */
    }
  }
}
