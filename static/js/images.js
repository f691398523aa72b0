// Images for the composer and the follow-up box (templates/tasks/_images_field.html): paste,
// drag-and-drop and the file picker all fill the same <input type=file>, previews show what will
// be sent, and a file that is plainly not a PNG/JPEG/WebP/GIF or too large is named before the
// form is sent, so nothing typed is lost. The server decodes every file again and decides.
// Delegated from the document: follow-up boxes arrive later with each attempt's result.

const INPUT = "input[data-image-input]";

const SIGNATURES = [
  [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], // PNG
  [0xff, 0xd8, 0xff], // JPEG
  [0x47, 0x49, 0x46, 0x38], // GIF8
];

function isImageBytes(bytes) {
  if (SIGNATURES.some((sig) => sig.every((b, i) => bytes[i] === b))) return true;
  const text = String.fromCharCode(...bytes.slice(0, 12));
  return text.startsWith("RIFF") && text.slice(8, 12) === "WEBP";
}

function boxOf(input) {
  return input.closest("[data-image-attach]");
}

function inputOf(form) {
  return form ? form.querySelector(INPUT) : null;
}

function setFiles(input, files) {
  const transfer = new DataTransfer();
  files.forEach((file) => transfer.items.add(file));
  input.files = transfer.files;
  refresh(input);
}

function addFiles(input, files) {
  setFiles(input, [...input.files, ...files]);
}

function sizeText(bytes) {
  return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`;
}

async function problemOf(input) {
  const box = boxOf(input);
  const maxCount = Number(box.dataset.maxCount);
  const maxBytes = Number(box.dataset.maxBytes);
  const files = [...input.files];
  if (files.length > maxCount) return `Attach at most ${maxCount} images (you chose ${files.length}).`;
  for (const file of files) {
    if (file.size > maxBytes) {
      return `${file.name} is ${sizeText(file.size)}; images may be at most ${sizeText(maxBytes)}.`;
    }
    const head = new Uint8Array(await file.slice(0, 16).arrayBuffer());
    if (!isImageBytes([...head])) return `${file.name} is not a PNG, JPEG, WebP or GIF image.`;
  }
  return "";
}

function preview(input, file, index) {
  const item = document.createElement("li");
  const img = document.createElement("img");
  img.alt = file.name;
  const reader = new FileReader();
  reader.addEventListener("load", () => { img.src = reader.result; }); // a data: URL (CSP img-src)
  reader.readAsDataURL(file);
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = `${file.name} · ${sizeText(file.size)}`;
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "button small";
  remove.textContent = "Remove";
  remove.setAttribute("aria-label", `Remove ${file.name}`);
  remove.addEventListener("click", () => setFiles(input, [...input.files].filter((_, i) => i !== index)));
  item.append(img, name, remove);
  return item;
}

async function refresh(input) {
  const box = boxOf(input);
  const list = box.querySelector("[data-image-previews]");
  list.replaceChildren(...[...input.files].map((file, i) => preview(input, file, i)));
  const problem = await problemOf(input);
  const note = box.querySelector("[data-image-problem]");
  note.textContent = problem;
  note.hidden = !problem;
  input.dataset.problem = problem;
  input.setCustomValidity(problem);
}

document.addEventListener("change", (ev) => {
  if (ev.target.matches && ev.target.matches(INPUT)) refresh(ev.target);
});

document.addEventListener("paste", (ev) => {
  const input = inputOf(ev.target.closest && ev.target.closest("form"));
  const files = [...((ev.clipboardData && ev.clipboardData.files) || [])];
  if (!input || !files.length) return;
  ev.preventDefault(); // keep the image out of the text box; text pastes are untouched
  addFiles(input, files);
});

function dropForm(ev) {
  const form = ev.target.closest && ev.target.closest("form");
  return inputOf(form) && ev.dataTransfer && [...ev.dataTransfer.types].includes("Files") ? form : null;
}

document.addEventListener("dragover", (ev) => {
  const form = dropForm(ev);
  if (!form) return;
  ev.preventDefault();
  form.classList.add("drop-target");
});

document.addEventListener("dragleave", (ev) => {
  const form = ev.target.closest && ev.target.closest("form");
  if (form && !form.contains(ev.relatedTarget)) form.classList.remove("drop-target");
});

document.addEventListener("drop", (ev) => {
  const form = dropForm(ev);
  if (!form) return;
  ev.preventDefault();
  form.classList.remove("drop-target");
  addFiles(inputOf(form), [...ev.dataTransfer.files]);
});

document.addEventListener("submit", (ev) => {
  const input = inputOf(ev.target);
  if (input && input.dataset.problem) {
    ev.preventDefault();
    boxOf(input).querySelector("[data-image-problem]").focus();
  }
}, true);
