// translate serve: the page's only script. It lists the models, shows a model's card, posts the chosen image's
// bytes to /api/translate and shows the PNG that comes back. Text from the server is set as text, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { models: new Map(), maxUpload: 0, file: null, request: 0, urls: {} };

const GROUPS = [
  ["run", "Run directories"],
  ["shipped", "Shipped with translate"],
  ["pulled", "Pulled"],
  ["not pulled", "Not on this machine (translate pull NAME)"],
];

function setStatus(text, kind = "") {
  const status = $("status");
  status.textContent = text;
  status.className = kind;
}

function showImage(which, blob) {
  if (state.urls[which]) URL.revokeObjectURL(state.urls[which]);
  const img = $(which);
  const frame = img.parentElement;
  const empty = frame.querySelector(".empty");
  empty.dataset.text ??= empty.textContent;
  empty.textContent = empty.dataset.text;
  frame.classList.remove("filled");
  $(which + "-size").textContent = "";
  if (!blob) {
    state.urls[which] = null;
    img.removeAttribute("src");
    return null;
  }
  state.urls[which] = URL.createObjectURL(blob);
  img.onload = () => {
    frame.classList.add("filled");
    $(which + "-size").textContent = `${img.naturalWidth} x ${img.naturalHeight}`;
  };
  img.onerror = () => { empty.textContent = "the browser cannot show this file"; };
  img.src = state.urls[which];
  return state.urls[which];
}

function megabytes(bytes) {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

async function loadModels() {
  const response = await fetch("/api/models");
  const listing = await response.json();
  state.maxUpload = listing.max_upload_bytes;
  $("limits").textContent = `PNG, JPEG, WebP, TIFF... up to ${megabytes(listing.max_upload_bytes)}; ` +
    `images over ${listing.tile} px are translated in tiles.`;
  const select = $("model");
  for (const [kind, title] of GROUPS) {
    const rows = listing.models.filter((m) => m.kind === kind);
    if (!rows.length) continue;
    const group = document.createElement("optgroup");
    group.label = title;
    for (const row of rows) {
      state.models.set(row.id, row);
      const option = new Option(row.id, row.id);
      option.title = row.usable ? row.task : row.unusable;
      option.disabled = !row.usable;
      group.append(option);
    }
    select.append(group);
  }
  const first = listing.models.find((m) => m.usable);
  if (first) select.value = first.id;
  await modelChanged();
}

function addRow(list, term, value, code = false) {
  if (value === undefined || value === null || value === "") return;
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  if (value instanceof Node) dd.append(value);
  else if (code) { const c = document.createElement("code"); c.textContent = value; dd.append(c); }
  else dd.textContent = value;
  list.append(dt, dd);
}

function metricsTable(metrics) {
  // one column per metric: its name above its value
  const names = Object.keys(metrics);
  if (!names.length) return null;
  const table = document.createElement("table");
  const head = table.insertRow();
  const values = table.insertRow();
  for (const name of names) {
    head.insertCell().textContent = name;
    const value = metrics[name];
    values.insertCell().textContent = Number.isInteger(value) ? String(value) : Number(value).toPrecision(4);
  }
  return table;
}

function showCard(card) {
  const box = $("card");
  box.replaceChildren();
  const title = document.createElement("h2");
  const task = document.createElement("span");
  task.textContent = card.task;
  title.append(card.name, task);
  box.append(title);
  if (card.summary) {
    const summary = document.createElement("p");
    summary.textContent = card.summary;
    box.append(summary);
  }
  const list = document.createElement("dl");
  addRow(list, "Model", card.model);
  addRow(list, "Trained on", card.trained_on);
  addRow(list, "Metrics", metricsTable(card.metrics) || card.metrics_note);
  if (Object.keys(card.metrics).length) addRow(list, "Measured by", card.metrics_command || card.metrics_note, !!card.metrics_command);
  addRow(list, "Licence", card.licence);
  addRow(list, "Citation", card.citation);
  addRow(list, "Data credits", card.credits);
  addRow(list, "Source", card.source);
  addRow(list, "Recipe", card.recipe, true);
  box.append(list);
}

async function modelChanged() {
  const model = state.models.get($("model").value);
  if (!model) return;
  $("direction-row").hidden = model.directions.length < 2;
  $("direction").value = model.directions[0];
  const response = await fetch(`/api/card?model=${encodeURIComponent(model.id)}`);
  const card = await response.json();
  if (response.ok) showCard(card);
  else setStatus(card.error, "error");
  if (state.file) translate();
}

function chooseFile(file) {
  if (!file) return;
  state.file = file;
  showImage("input", file);
  translate();
}

async function translate() {
  const file = state.file;
  const model = state.models.get($("model").value);
  const request = ++state.request;  // a newer request wins: an older answer arriving late is dropped
  showImage("output", null);
  $("download").hidden = true;
  if (!model) { setStatus("No model to translate with: pass run directories or pull a catalogue model.", "error"); return; }
  if (!model.usable) { setStatus(model.unusable, "error"); return; }
  if (file.size > state.maxUpload) {
    setStatus(`${file.name} is ${megabytes(file.size)}, over this server's limit of ${megabytes(state.maxUpload)}; ` +
      "choose a smaller image, or restart translate serve with a larger --max-upload-mb.", "error");
    return;
  }
  setStatus(`Translating ${file.name} with ${model.id}...`, "busy");
  const query = new URLSearchParams({ model: model.id, direction: $("direction").value, name: file.name });
  let response;
  try {
    response = await fetch(`/api/translate?${query}`, {
      method: "POST", body: file, headers: { "Content-Type": file.type || "application/octet-stream" },
    });
  } catch (error) {
    if (request === state.request) setStatus(`The server could not be reached (${error.message}); is translate serve still running?`, "error");
    return;
  }
  if (request !== state.request) return;
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try { message = (await response.json()).error || message; } catch (error) { /* not JSON: keep the status */ }
    setStatus(message, "error");
    return;
  }
  const blob = await response.blob();
  if (request !== state.request) return;
  const url = showImage("output", blob);
  const stem = file.name.replace(/\.[^.]*$/, "") || "image";
  const link = $("download");
  link.href = url;
  const label = model.kind === "run" ? model.id.replace(/[\\/]+$/, "").split(/[\\/]/).pop() : model.id;
  link.download = `${stem}-${label.replace(/[^A-Za-z0-9_.-]+/g, "-")}.png`;
  link.hidden = false;
  const tiled = response.headers.get("X-Tiled") === "1" ? ", in tiles" : "";
  setStatus(`${model.id}: ${response.headers.get("X-Size")} in ${Number(response.headers.get("X-Seconds")).toFixed(2)} s${tiled}.`, "done");
}

function setUp() {
  $("model").addEventListener("change", modelChanged);
  $("direction").addEventListener("change", () => { if (state.file) translate(); });
  $("file").addEventListener("change", (event) => chooseFile(event.target.files[0]));
  const drop = $("drop");
  for (const name of ["dragenter", "dragover"]) {
    drop.addEventListener(name, (event) => { event.preventDefault(); drop.classList.add("over"); });
  }
  for (const name of ["dragleave", "drop"]) {
    drop.addEventListener(name, () => drop.classList.remove("over"));
  }
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    chooseFile(event.dataTransfer.files[0]);
  });
  // a file dropped beside the zone is not opened by the browser in place of the page
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());
  loadModels().catch((error) => setStatus(`Could not list the models (${error.message}).`, "error"));
}

document.addEventListener("DOMContentLoaded", setUp);
