// The form editor (form_editor.html): as one types in the JSON Schema or the UI schema, the preview is
// asked of the server (POST /forms/<name>/preview), which renders it with the task page's own code in
// the reader's language, and replaces the preview box (after a short pause in typing).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("form-edit");
  const box = document.getElementById("form-preview");
  if (!form || !box) return;
  let timer = null;
  let asked = 0;
  const refresh = async () => {
    const mine = ++asked;
    try {
      const response = await fetch(form.dataset.preview, {method: "POST", credentials: "same-origin",
        body: new FormData(form)});
      const html = await response.text();
      if (mine !== asked) return;  // a later edit asked again: its answer wins
      const fragment = new DOMParser().parseFromString(html, "text/html").getElementById("preview-content");
      if (fragment) box.replaceChildren(document.adoptNode(fragment));
    } catch (error) { /* the preview stays as it was; saving tells what is wrong */ }
  };
  form.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  });
});
