// The MoQ client: connects over WebTransport, offering MoQ Transport
// draft 18 as a WebTransport protocol and falling back to draft 14 (no
// protocol, versions in SETUP) when the edge does not choose it.

import { Draft14Session } from "./moq14";
import { Draft18Session, PROTOCOL18 } from "./moq18";
import { closeError, MoqError, type MoqSession } from "./moqbase";

export { MoqError, MoqPublication, STATUS_END_OF_GROUP, STATUS_NORMAL } from "./moqbase";
export type { GroupStream, MoqObject, MoqSession, TrackCallbacks } from "./moqbase";

/** Drafts the player speaks, most preferred first. */
export const DRAFTS = [18, 14];

export interface ConnectOptions {
  token: string;
  /** SHA-256 of a self-signed certificate (serverCertificateHashes). */
  certHash?: Uint8Array;
  timeoutMs?: number;
  /** Drafts to offer (a subset of DRAFTS); all by default. */
  drafts?: number[];
}

/** Opens a MoQ session to url with the newest draft both sides speak. */
export async function connect(url: string, opts: ConnectOptions): Promise<MoqSession> {
  const drafts = opts.drafts?.length ? opts.drafts : DRAFTS;
  const wtOpts: WebTransportOptions & { protocols?: string[] } = {};
  if (opts.certHash && opts.certHash.length === 32) {
    wtOpts.serverCertificateHashes = [{ algorithm: "sha-256", value: opts.certHash as BufferSource }];
  }
  if (drafts.includes(18)) wtOpts.protocols = [PROTOCOL18];
  const wt = new WebTransport(url, wtOpts);
  const ended: Promise<MoqError> = wt.closed.then(
    (info) => closeError(info.closeCode ?? 0, info.reason ?? ""),
    (e) => new MoqError(`WebTransport failed: ${e}`, 0, "closed"),
  );
  const timeout = opts.timeoutMs ?? 4000;
  let timer = 0;
  let s: MoqSession | null = null;
  try {
    await Promise.race([
      (async () => {
        await wt.ready;
        // An edge that speaks draft 18 answers with it (WT-Protocol); an
        // older one, or a browser without protocol negotiation, leaves it
        // empty, and draft 14 negotiates in SETUP.
        const proto = (wt as WebTransport & { protocol?: string }).protocol ?? "";
        if (proto === PROTOCOL18 && drafts.includes(18)) {
          const d = new Draft18Session(wt, opts.token, ended);
          s = d;
          await d.setup();
        } else if (!proto && drafts.includes(14)) {
          const d = new Draft14Session(wt, opts.token, ended);
          s = d;
          await d.setup();
        } else {
          throw new MoqError(`edge chose MoQ protocol "${proto}", which was not offered`, 0, "protocol");
        }
      })(),
      new Promise((_, rej) => {
        timer = setTimeout(() => rej(new MoqError("MoQ connect timed out", 0, "closed")), timeout) as unknown as number;
      }),
    ]);
  } catch (e) {
    // The edge may be closing the session with a reason (a refused
    // token) that arrives just after the failed read: wait for it briefly.
    const why = await Promise.race([ended, new Promise<null>((res) => setTimeout(() => res(null), 500))]);
    try {
      wt.close({ closeCode: 0, reason: "" });
    } catch {
      /* not open */
    }
    throw why ?? e;
  } finally {
    clearTimeout(timer);
  }
  return s as unknown as MoqSession;
}
