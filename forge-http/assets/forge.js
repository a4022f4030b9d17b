// forge's one script: conveniences over pages that work without it.
// - A "Preview" button beside each Markdown text area (data-preview: where
//   to POST the text, with the form's CSRF token) shows the text rendered
//   by the server, sanitized as the page itself would show it.
// - On a pull request's diff, a click on a new-side line number opens that
//   file's line-comment form under the line, its line number filled in.
// - Issue and pull-request pages follow their event stream: what others
//   post appears without a reload (setUpLive, below).
"use strict";

function setUpPreview(area) {
  const form = area.form;
  if (!form) return;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "secondary preview-toggle";
  button.textContent = "Preview";
  const shown = document.createElement("div");
  shown.className = "markdown preview box pad";
  shown.hidden = true;
  shown.setAttribute("aria-live", "polite");
  area.after(button, shown);
  button.addEventListener("click", async () => {
    if (!shown.hidden) {
      shown.hidden = true;
      area.hidden = false;
      button.textContent = "Preview";
      area.focus();
      return;
    }
    const body = new URLSearchParams();
    body.set("content", area.value);
    const csrf = form.querySelector("input[name=csrf_token]");
    if (csrf) body.set("csrf_token", csrf.value);
    button.disabled = true;
    try {
      const res = await fetch(area.dataset.preview, {
        method: "POST",
        body,
        credentials: "same-origin",
      });
      if (!res.ok) throw new Error(res.status + " " + res.statusText);
      // The server's sanitized rendering (forge_core::markdown::render).
      shown.innerHTML = await res.text();
    } catch (e) {
      shown.textContent = "The preview could not be made (" + e.message + ").";
    }
    button.disabled = false;
    shown.hidden = false;
    area.hidden = true;
    button.textContent = "Edit";
  });
}

function setUpLineComments(file) {
  const details = file.querySelector("details.line-form");
  if (!details) return;
  const row = details.querySelector("input[name=row]");
  file.querySelectorAll("table.diff td.ln a").forEach((link) => {
    link.title = "Comment on this line";
    link.addEventListener("click", (event) => {
      event.preventDefault();
      history.replaceState(null, "", link.getAttribute("href"));
      const line = link.closest("tr");
      let holder = file.querySelector("tr.line-form-row");
      if (!holder) {
        holder = document.createElement("tr");
        holder.className = "line-form-row";
        const cell = document.createElement("td");
        cell.colSpan = 3;
        holder.append(cell);
      }
      line.after(holder);
      holder.firstChild.append(details);
      details.open = true;
      row.value = link.textContent.trim();
      details.querySelector("textarea").focus();
    });
  });
}


// Live updates: a page whose root names an event stream (data-live) keeps
// its marked parts (data-live-part, each with an id) as the server now
// renders them. Each event fetches the page again; a part (or, when all
// its children have ids, each child) is changed only where the server's
// rendering changed since the last one, so what this script added to the
// page stays, and never while the reader is in it (a focused field, text
// typed and not sent): that part waits for the next event. New children
// are added after the others, changed ones replaced where they are, and
// the new nodes get this script's conveniences. EventSource reconnects by
// itself, with the last event's id, and the server replays what was missed.
const served = new Map();

function remember(part) {
  served.set(part.id, part.outerHTML);
  Array.from(part.children).forEach((c) => {
    if (c.id) served.set(c.id, c.outerHTML);
  });
}

function inUse(el) {
  const active = document.activeElement;
  if (active && active !== document.body && el.contains(active) && active.matches("input, textarea, select")) {
    return true;
  }
  return Array.from(el.querySelectorAll("textarea")).some((t) => t.value !== t.defaultValue);
}

function enhance(el) {
  el.querySelectorAll("textarea[data-preview]").forEach(setUpPreview);
  if (el.matches("section.file")) setUpLineComments(el);
  el.querySelectorAll("section.file").forEach(setUpLineComments);
}

// Puts `fresh` (from the server) where `old` is, unless the reader is in it.
function swap(old, fresh) {
  if (served.get(fresh.id) === fresh.outerHTML || inUse(old)) return;
  const node = document.importNode(fresh, true);
  old.replaceWith(node);
  served.set(fresh.id, fresh.outerHTML);
  enhance(node);
}

function mergePart(part, fresh) {
  const keyed = (el) => el.children.length > 0 && Array.from(el.children).every((c) => c.id);
  if (!keyed(part) || !keyed(fresh)) {
    if (served.get(part.id) === fresh.outerHTML || inUse(part)) return;
    part.replaceChildren(...Array.from(fresh.childNodes, (n) => document.importNode(n, true)));
    served.set(part.id, fresh.outerHTML);
    enhance(part);
    return;
  }
  const wanted = new Set(Array.from(fresh.children, (c) => c.id));
  Array.from(part.children).forEach((c) => {
    if (!wanted.has(c.id) && !inUse(c)) c.remove();
  });
  Array.from(fresh.children).forEach((c) => {
    const old = document.getElementById(c.id);
    if (!old || old.parentElement !== part) {
      const node = document.importNode(c, true);
      part.append(node);
      served.set(c.id, c.outerHTML);
      enhance(node);
    } else {
      swap(old, c);
    }
  });
}

function setUpLive(root) {
  if (!window.EventSource || !window.DOMParser) return;
  let timer = null;
  let busy = false;
  let again = false;
  async function refresh() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      const res = await fetch(location.pathname + location.search, {
        credentials: "same-origin",
        headers: { Accept: "text/html" },
      });
      if (res.ok) {
        const doc = new DOMParser().parseFromString(await res.text(), "text/html");
        document.querySelectorAll("[data-live-part]").forEach((part) => {
          const fresh = doc.getElementById(part.id);
          if (fresh) mergePart(part, fresh);
        });
      }
    } catch (e) {
      // The next event tries again.
    }
    busy = false;
    if (again) {
      again = false;
      refresh();
    }
  }
  const source = new EventSource(root.dataset.live);
  source.onmessage = () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 100);
  };
}

// The parts as the server sent them, before the conveniences change them.
document.querySelectorAll("[data-live-part]").forEach(remember);
document.querySelectorAll("textarea[data-preview]").forEach(setUpPreview);
document.querySelectorAll("section.file").forEach(setUpLineComments);
document.querySelectorAll("[data-live]").forEach(setUpLive);
