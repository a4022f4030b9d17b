// forge's one script: conveniences over pages that work without it.
// - A "Preview" button beside each Markdown text area (data-preview: where
//   to POST the text, with the form's CSRF token) shows the text rendered
//   by the server, sanitized as the page itself would show it.
// - On a pull request's diff, a click on a new-side line number opens that
//   file's line-comment form under the line, its line number filled in.
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
