// assistant-db dashboard: small conveniences on top of a page that works without script.
// Filters apply as soon as they change (empty ones are left out of the URL), and a
// whole table row opens the interaction it shows.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form.filters");
  if (form) {
    form.addEventListener("submit", () => {
      for (const field of form.elements) {
        if (field.name && field.value === "") field.disabled = true;
        if (field.name === "bucket" && field.value === "day") field.disabled = true;
      }
    });
    for (const field of form.querySelectorAll("select, input[type=date]")) {
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
