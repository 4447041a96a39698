// Entry point of the bundle: registers <strata-player>.
import { StrataPlayer } from "./element";

if (!customElements.get("strata-player")) customElements.define("strata-player", StrataPlayer);

declare global {
  interface Window {
    StrataPlayer: typeof StrataPlayer;
  }
}
window.StrataPlayer = StrataPlayer;
