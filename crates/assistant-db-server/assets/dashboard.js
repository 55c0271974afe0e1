// assistant-db dashboard: small conveniences on top of pages that work without script.
// A choice in a list applies at once (typed fields apply with Enter or Apply); fields
// left empty or at their default stay out of the URL; a whole table row opens the
// interaction it shows.
"use strict";

const DEFAULTS = { bucket: "day", tz: "UTC" };

document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form.filters");
  if (form) {
    form.addEventListener("submit", () => {
      for (const field of form.elements) {
        if (!field.name) continue;
        if (field.value.trim() === "" || DEFAULTS[field.name] === field.value) field.disabled = true;
      }
    });
    for (const field of form.querySelectorAll("select")) {
      field.addEventListener("change", () => form.requestSubmit());
    }
  }
  for (const row of document.querySelectorAll("tr[data-href]")) {
    row.addEventListener("click", (event) => {
      if (event.target.closest("a") || window.getSelection().toString()) return;
      window.location.href = row.dataset.href;
    });
  }
});
