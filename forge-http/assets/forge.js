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

document.querySelectorAll("textarea[data-preview]").forEach(setUpPreview);
document.querySelectorAll("section.file").forEach(setUpLineComments);

// Live updates: a page whose root names an event stream (data-live) keeps
// its marked parts (data-live-part, each with an id) as the server now
// renders them. Each event fetches the page again and changes only the
// parts that differ: new comments are added after the others, changed ones
// replaced where they are; what the reader types and where they scrolled
// stay as they were. EventSource reconnects by itself, with the last
// event's id, and the server replays what was missed.
function importChildren(from) {
  return Array.from(from.childNodes, (n) => document.importNode(n, true));
}

function mergePart(part, fresh) {
  if (part.innerHTML === fresh.innerHTML) return;
  const keyed = (el) => Array.from(el.children).every((c) => c.id);
  if (!keyed(part) || !keyed(fresh)) {
    part.replaceChildren(...importChildren(fresh));
    return;
  }
  const wanted = new Set(Array.from(fresh.children, (c) => c.id));
  Array.from(part.children).forEach((c) => {
    if (!wanted.has(c.id)) c.remove();
  });
  Array.from(fresh.children).forEach((c) => {
    const old = document.getElementById(c.id);
    if (!old || old.parentElement !== part) {
      part.append(document.importNode(c, true));
    } else if (old.outerHTML !== c.outerHTML) {
      old.replaceWith(document.importNode(c, true));
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

document.querySelectorAll("[data-live]").forEach(setUpLive);
