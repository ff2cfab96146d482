// stylenet's web page: stylise a photo with the exported ONNX model(s) of this folder in onnxruntime-web.
// model.json (written by `stylenet export --web`) says which page this is ("fixed_style" or "any_style"),
// where the runtime lives and the largest photo side. Images are (1, 3, H, W) float32 RGB in [0, 1], as in
// stylenet's Python runtimes; strength and preserve-colour mean what they mean for `stylenet stylize`.

const $ = (id) => document.getElementById(id);

// ITU-R BT.601 full-range RGB -> YCbCr, as stylenet.color; its inverse is computed, as there.
const RGB_TO_YCBCR = [
  [0.299, 0.587, 0.114],
  [-0.168736, -0.331264, 0.5],
  [0.5, -0.418688, -0.081312],
];
const YCBCR_TO_RGB = inverse3(RGB_TO_YCBCR);

const state = {
  config: null,
  ort: null,
  backend: "",
  sessions: {},
  photo: null, // {data: Float32Array (3*H*W), width, height, name}
  styles: [null, null], // [{data, width, height, name, code: Float32Array}]
  raw: null, // the network's output for the current photo and style
  lastRun: null,
  runs: 0,
};

function inverse3(m) {
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  const det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  return [
    [(e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det],
    [(f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det],
    [(d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det],
  ];
}

function setPhase(phase) {
  document.body.dataset.phase = phase; // loading | ready | busy | done | error: for people and tests alike
}

function showMessage(text) {
  $("message").textContent = text;
  $("message").hidden = false;
  setPhase("error");
}

function clearMessage() {
  $("message").hidden = true;
  $("message").textContent = "";
}

function showNotice(text) {
  $("notice").textContent = text;
  $("notice").hidden = !text;
}

function status(text) {
  $("status").textContent = text;
}

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));

async function fetchOk(file, what) {
  let response;
  try {
    response = await fetch(file);
  } catch (error) {
    throw new Error(`${what} ${file} could not be fetched (${error.message})`);
  }
  if (!response.ok) {
    throw new Error(`${what} ${file} is missing from this folder (HTTP ${response.status})`);
  }
  return response;
}

async function loadRuntime(base) {
  try {
    const url = new URL(base, document.baseURI).href;
    const ort = await import(`${url}ort.webgpu.min.mjs`);
    ort.env.wasm.wasmPaths = url;
    ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
    return ort;
  } catch (error) {
    throw new Error(`onnxruntime-web could not be loaded from ${base} (${error.message})`);
  }
}

async function webgpuAvailable() {
  if (!navigator.gpu) return false;
  try {
    return Boolean(await navigator.gpu.requestAdapter());
  } catch {
    return false;
  }
}

async function createSession(file, useWebgpu) {
  const bytes = new Uint8Array(await (await fetchOk(file, "the model file")).arrayBuffer());
  const options = { graphOptimizationLevel: "all" };
  if (useWebgpu) {
    try {
      return [await state.ort.InferenceSession.create(bytes, { ...options, executionProviders: ["webgpu"] }), true];
    } catch (error) {
      console.warn(`WebGPU could not run ${file}; falling back to WASM`, error);
    }
  }
  try {
    return [await state.ort.InferenceSession.create(bytes, { ...options, executionProviders: ["wasm"] }), false];
  } catch (error) {
    throw new Error(`${file} is not a model onnxruntime-web can run (${error.message})`);
  }
}

async function loadModels() {
  const config = await (await fetchOk("model.json", "the model description")).json();
  if (!config.page || !config.files) throw new Error("model.json was not written by stylenet export --web");
  state.config = config;
  state.ort = await loadRuntime(config.page.runtime);
  let gpu = await webgpuAvailable();
  for (const [name, file] of Object.entries(config.files)) {
    const [session, onGpu] = await createSession(file, gpu);
    state.sessions[name] = session;
    gpu = gpu && onGpu;
  }
  const threads = state.ort.env.wasm.numThreads;
  state.backend = gpu ? "webgpu" : `wasm (SIMD, ${threads} thread${threads === 1 ? "" : "s"})`;
}

function describeModel() {
  const { config } = state;
  const anyStyle = config.page.kind === "any_style";
  for (const element of document.querySelectorAll(".any-style")) element.hidden = !anyStyle;
  const style = config.style && config.style.image;
  $("style-label").textContent = anyStyle ? "Style image" : `Style: ${style || "built in"} (fixed)`;
  const kind = anyStyle ? "any style (meta network)" : `one style${style ? `: ${style}` : ""}`;
  $("model-info").textContent =
    `${kind}; photos up to ${config.page.max_size} px; onnxruntime-web ${config.page.onnxruntime_web} on ${state.backend}`;
}

// ---- images <-> tensors -------------------------------------------------------------------------------

async function decode(file) {
  try {
    return await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    throw new Error(`${file.name} is not an image this browser can decode`);
  }
}

// A bitmap drawn at (width, height) -> {data: (3*H*W) planar RGB in [0, 1], width, height}.
function bitmapTensor(bitmap, width, height) {
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.imageSmoothingQuality = "high";
  context.drawImage(bitmap, 0, 0, width, height);
  const rgba = context.getImageData(0, 0, width, height).data;
  const plane = width * height;
  const data = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    data[p] = rgba[4 * p] / 255;
    data[plane + p] = rgba[4 * p + 1] / 255;
    data[2 * plane + p] = rgba[4 * p + 2] / 255;
  }
  return { data, width, height };
}

// The size whose longest side is `longest`, rounded as stylenet.imageio does.
function sizeWithLongest(width, height, longest) {
  const scale = longest / Math.max(width, height);
  return [Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale))];
}

function drawTensor(canvas, tensor) {
  const { data, width, height } = tensor;
  const plane = width * height;
  const pixels = new ImageData(width, height);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) pixels.data[4 * p + c] = Math.round(255 * Math.min(1, Math.max(0, data[c * plane + p])));
    pixels.data[4 * p + 3] = 255;
  }
  canvas.width = width;
  canvas.height = height;
  canvas.getContext("2d").putImageData(pixels, 0, 0);
}

// ---- the network ----------------------------------------------------------------------------------------

function imageTensor(tensor) {
  return new state.ort.Tensor("float32", tensor.data, [1, 3, tensor.height, tensor.width]);
}

async function runSession(name, feeds) {
  const session = state.sessions[name];
  const outputs = await session.run(feeds);
  return outputs[session.outputNames[0]].data;
}

function blendedCode() {
  const [first, second] = state.styles;
  if (!second) return first.code;
  const weight = Number($("blend").value);
  return first.code.map((value, i) => (1 - weight) * value + weight * second.code[i]);
}

async function stylize() {
  const { photo } = state;
  const anyStyle = state.config.page.kind === "any_style";
  if (!photo) return null;
  if (anyStyle && !state.styles[0]) {
    status("Choose a style image.");
    setPhase("ready");
    return null;
  }
  setPhase("busy");
  status(`stylising ${photo.width}×${photo.height}…`);
  await nextFrame();
  const feeds = { image: imageTensor(photo) };
  let code = null;
  if (anyStyle) {
    code = blendedCode();
    feeds.code = new state.ort.Tensor("float32", code, [1, code.length]);
  }
  const name = anyStyle ? "stylize" : "model";
  const start = performance.now();
  const raw = await runSession(name, feeds);
  const milliseconds = performance.now() - start;
  state.raw = { data: raw, width: photo.width, height: photo.height };
  state.runs += 1;
  state.lastRun = { milliseconds, backend: state.backend, code, style: anyStyle ? state.styles[0] : null };
  composite();
  status(`${milliseconds.toFixed(0)} ms for ${photo.width}×${photo.height} on ${state.backend}`);
  setPhase("done");
  return milliseconds;
}

// The network's output with strength and preserve-colour applied (stylenet.color.preserve_color, blend).
function composite() {
  const { photo, raw } = state;
  if (!raw) return;
  const strength = Number($("strength").value);
  const keepColour = $("preserve-color").checked;
  const plane = raw.width * raw.height;
  const out = new Float32Array(3 * plane);
  const [y, cb, cr] = RGB_TO_YCBCR;
  for (let p = 0; p < plane; p++) {
    let r = raw.data[p];
    let g = raw.data[plane + p];
    let b = raw.data[2 * plane + p];
    const r0 = photo.data[p];
    const g0 = photo.data[plane + p];
    const b0 = photo.data[2 * plane + p];
    if (keepColour) {
      const luma = y[0] * r + y[1] * g + y[2] * b;
      const blue = cb[0] * r0 + cb[1] * g0 + cb[2] * b0;
      const red = cr[0] * r0 + cr[1] * g0 + cr[2] * b0;
      const clamp = (v) => Math.min(1, Math.max(0, v));
      r = clamp(YCBCR_TO_RGB[0][0] * luma + YCBCR_TO_RGB[0][1] * blue + YCBCR_TO_RGB[0][2] * red);
      g = clamp(YCBCR_TO_RGB[1][0] * luma + YCBCR_TO_RGB[1][1] * blue + YCBCR_TO_RGB[1][2] * red);
      b = clamp(YCBCR_TO_RGB[2][0] * luma + YCBCR_TO_RGB[2][1] * blue + YCBCR_TO_RGB[2][2] * red);
    }
    out[p] = r0 + strength * (r - r0);
    out[plane + p] = g0 + strength * (g - g0);
    out[2 * plane + p] = b0 + strength * (b - b0);
  }
  state.result = { data: out, width: raw.width, height: raw.height };
  drawTensor($("result"), state.result);
  $("result").toBlob((blob) => {
    const link = $("download");
    if (link.href) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(blob);
    link.download = `${(photo.name || "photo").replace(/\.[^.]*$/, "")}_stylized.png`;
    link.hidden = false;
  }, "image/png");
}

// ---- inputs ---------------------------------------------------------------------------------------------

async function choosePhoto(file) {
  clearMessage();
  const bitmap = await decode(file);
  const limit = state.config.page.max_size;
  let [width, height] = [bitmap.width, bitmap.height];
  if (Math.max(width, height) > limit) {
    [width, height] = sizeWithLongest(width, height, limit);
    showNotice(`${file.name} is ${bitmap.width}×${bitmap.height}; it is stylised at ${width}×${height} (this page's limit is ${limit} px).`);
  } else {
    showNotice("");
  }
  state.photo = { ...bitmapTensor(bitmap, width, height), name: file.name };
  bitmap.close();
  drawTensor($("original"), state.photo);
  state.raw = null;
  await stylize();
}

async function chooseStyle(slot, file) {
  clearMessage();
  if (state.config.page.kind !== "any_style") {
    const style = (state.config.style && state.config.style.image) || "its own";
    throw new Error(
      `This model has a fixed style (${style}); it takes no style image. Export a meta network for any style.`,
    );
  }
  const bitmap = await decode(file);
  const [width, height] = sizeWithLongest(bitmap.width, bitmap.height, state.config.page.style_size || 256);
  const style = { ...bitmapTensor(bitmap, width, height), name: file.name };
  bitmap.close();
  setPhase("busy");
  status(`reading the style of ${file.name}…`);
  await nextFrame();
  style.code = await runSession("style_code", { style: imageTensor(style) });
  state.styles[slot] = style;
  await stylize();
}

// Run `action`, showing its error on the page; the page is busy meanwhile and never stays so.
async function guarded(action) {
  setPhase("busy");
  try {
    await action();
    if (document.body.dataset.phase === "busy") setPhase(state.result ? "done" : "ready");
  } catch (error) {
    console.error(error);
    showMessage(error.message);
  }
}

function onFile(input, drop, handle) {
  input.addEventListener("change", () => {
    const file = input.files[0];
    input.value = "";
    if (file) guarded(() => handle(file));
  });
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    const file = event.dataTransfer.files[0];
    if (file) guarded(() => handle(file));
  });
}

function onSlider(input, output, action) {
  input.addEventListener("input", () => {
    output.textContent = Number(input.value).toFixed(2);
    guarded(action);
  });
}

async function start() {
  setPhase("loading");
  await loadModels();
  describeModel();
  onFile($("photo"), $("photo-drop"), choosePhoto);
  onFile($("style"), $("style-drop"), (file) => chooseStyle(0, file));
  onFile($("style2"), $("style2-drop"), (file) => chooseStyle(1, file));
  onSlider($("strength"), $("strength-value"), async () => composite());
  onSlider($("blend"), $("blend-value"), async () => state.styles[1] && stylize());
  $("preserve-color").addEventListener("change", () => guarded(async () => composite()));
  status("Choose a photo.");
  setPhase("ready");
}

// For tests and benchmarks: the page's state, float arrays as base64, and a re-run of the network.
function base64(array) {
  const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

window.stylenet = { state, base64, stylize, ready: guarded(start) };
