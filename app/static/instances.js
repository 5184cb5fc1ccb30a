// Instance search (app/web/templates/instances.html): choosing another process asks the page again, so
// the version and "waits at" lists offer that process's versions and elements (without a script, the
// Search button does the same). The old process's version and element are dropped first.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("instance-filters");
  const process = document.getElementById("filter-process");
  if (!form || !process) return;
  process.addEventListener("change", () => {
    for (const id of ["filter-version", "filter-waits"]) {
      const field = document.getElementById(id);
      if (field) field.value = "";
    }
    form.requestSubmit();
  });
});
