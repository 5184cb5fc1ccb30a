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
    const canvas = viewer.get("canvas");
    canvas.zoom("fit-viewport");
    // the diff page marks the elements added and changed: "id:added id:changed …"
    for (const marker of (container.dataset.markers || "").split(" ").filter(Boolean)) {
      const at = marker.lastIndexOf(":");
      try { canvas.addMarker(marker.slice(0, at), "diff-" + marker.slice(at + 1)); } catch (e) { /* not drawn */ }
    }
    container.dataset.drawn = "true";
  } catch (error) {
    const message = document.createElement("p");
    message.className = "error";
    message.textContent = container.dataset.failed;
    container.replaceWith(message);
  }
});
