// Starts MeterLens: loads the app's wasm. An external module (not Trunk's inline loader) so that the page's
// Content-Security-Policy allows no inline script at all.
import init, * as bindings from './meterlens-app.js';

const wasm = await init({ module_or_path: './meterlens-app_bg.wasm' });
window.wasmBindings = bindings;
dispatchEvent(new CustomEvent('TrunkApplicationStarted', { detail: { wasm } }));
