// The catalogue's decision page (catalogue_process.html): the chosen version's table, read-only, in the
// vendored dmn-js viewer (app/static/vendor/dmn-js; its bpmn.io watermark stays visible).
"use strict";
document.addEventListener("DOMContentLoaded", async () => {
  const box = document.getElementById("decision-table");
  if (!box || typeof DmnJS === "undefined") return;
  try {
    const response = await fetch(box.dataset.source, {credentials: "same-origin"});
    if (!response.ok) throw new Error(String(response.status));
    const viewer = new DmnJS({container: box, ...window.dmnWords(box)});
    await viewer.importXML(await response.text());
    const table = viewer.getViews().find((view) => view.type === "decisionTable");
    if (table && viewer.getActiveView() !== table) await viewer.open(table);
    box.dataset.drawn = "true";
  } catch (error) {
    const message = document.createElement("p");
    message.className = "error";
    message.textContent = box.dataset.failed;
    box.replaceWith(message);
  }
});
