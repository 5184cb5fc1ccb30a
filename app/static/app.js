// Loanflow's one script. Pages carry no inline handlers (the Content-Security-Policy refuses them):
// behaviour is attached here by data attributes.
"use strict";

// <select data-submit-on-change>: choosing an option submits its form (the language switch).
for (const select of document.querySelectorAll("select[data-submit-on-change]")) {
  select.addEventListener("change", () => select.form.submit());
}
