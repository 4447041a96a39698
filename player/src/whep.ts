// WHEP fallback: one RTCPeerConnection receiving the session's video and
// audio into a <video>, with the "input" data channel for controllers.

/** The reason an element in the expired state shows (data-reason). */
export const TOKEN_EXPIRED = "token expired";

export class WhepError extends Error {
  constructor(
    message: string,
    readonly kind: "auth" | "expired" | "not-found" | "closed",
  ) {
    super(message);
  }
}

export interface WhepSession {
  pc: RTCPeerConnection;
  input?: RTCDataChannel;
  resource?: string;
  close(): void;
}

async function gathered(pc: RTCPeerConnection, ms: number): Promise<void> {
  if (pc.iceGatheringState === "complete") return;
  await new Promise<void>((res) => {
    const t = setTimeout(res, ms);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") {
        clearTimeout(t);
        res();
      }
    });
  });
}

/**
 * Offers to a WHEP endpoint. media false asks for nothing but the input
 * data channel (a MoQ viewer's input path).
 */
export async function whep(url: string, token: string, opts: { media: boolean; input: boolean; video?: HTMLVideoElement }): Promise<WhepSession> {
  const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
  if (opts.media) {
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    const stream = new MediaStream();
    pc.ontrack = (e) => {
      stream.addTrack(e.track);
      if (opts.video && opts.video.srcObject !== stream) opts.video.srcObject = stream;
    };
  }
  const input = opts.input ? pc.createDataChannel("input", { ordered: true }) : undefined;
  const sess: WhepSession = { pc, input, close: () => undefined };
  try {
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc, 1500);
    const rsp = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/sdp", Authorization: `Bearer ${token}` },
      body: pc.localDescription?.sdp ?? "",
    });
    if (rsp.status === 401 || rsp.status === 403) {
      // The edge says which: an expired token (get a new one) or a bad one.
      const code = await rsp.json().then((b) => b?.error?.code, () => undefined);
      if (code === "token_expired") throw new WhepError(TOKEN_EXPIRED, "expired");
      throw new WhepError(`bad token (WHEP ${rsp.status})`, "auth");
    }
    // 404: no such session here; 409: the session has no live publisher.
    if (rsp.status === 404 || rsp.status === 409) throw new WhepError("session not live or ended", "not-found");
    if (rsp.status !== 201 && rsp.status !== 200) throw new WhepError(`WHEP answer ${rsp.status}: ${(await rsp.text()).slice(0, 200)}`, "closed");
    const loc = rsp.headers.get("Location");
    // Relative to the URL that answered: a 307 may have sent the offer to
    // another edge, and the session lives there.
    if (loc) sess.resource = new URL(loc, rsp.url || url).toString();
    await pc.setRemoteDescription({ type: "answer", sdp: await rsp.text() });
  } catch (e) {
    pc.close();
    if (e instanceof WhepError) throw e;
    throw new WhepError(`WHEP: ${e}`, "closed");
  }
  sess.close = () => {
    pc.close();
    if (sess.resource) void fetch(sess.resource, { method: "DELETE", headers: { Authorization: `Bearer ${token}` } }).catch(() => undefined);
  };
  return sess;
}
