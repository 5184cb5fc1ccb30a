// The process catalogue's diagram: the deployed file of the chosen version, drawn by the vendored
// bpmn-js viewer (app/static/vendor/bpmn-js, whose watermark the bpmn.io licence keeps visible).
"use strict";
document.addEventListener("DOMContentLoaded", async () => {
  const container = document.getElementById("diagram");
  if (!container || typeof BpmnJS === "undefined") return;
  try {
    const response = await fetch(container.dataset.source, {credentials: "same-origin"});
    if (!response.ok) throw new Error(String(response.status));
    const viewer = new BpmnJS({container});
    await viewer.importXML(await response.text());
    viewer.get("canvas").zoom("fit-viewport");
    container.dataset.drawn = "true";
  } catch (error) {
    const message = document.createElement("p");
    message.className = "error";
    message.textContent = container.dataset.failed;
    container.replaceWith(message);
  }
});
