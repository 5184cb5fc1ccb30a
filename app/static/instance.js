// The instance page (app/web/templates/instance.html): the instance's version drawn by the vendored
// bpmn-js viewer, its elements marked completed, active or failed (data-markers "id:state …") with a
// badge on those that ran more than once (data-counts "id:n …"). Choosing a step of the history
// highlights its element; choosing an element highlights its steps.
"use strict";
document.addEventListener("DOMContentLoaded", async () => {
  const container = document.getElementById("diagram");
  if (!container || typeof BpmnJS === "undefined") return;
  const pairs = (text) => (text || "").split(" ").filter(Boolean).map((pair) => {
    const at = pair.lastIndexOf(":");
    return [pair.slice(0, at), pair.slice(at + 1)];
  });
  let viewer;
  try {
    const response = await fetch(container.dataset.source, {credentials: "same-origin"});
    if (!response.ok) throw new Error(String(response.status));
    viewer = new BpmnJS({container});
    await viewer.importXML(await response.text());
  } catch (error) {
    const message = document.createElement("p");
    message.className = "error";
    message.textContent = container.dataset.failed;
    container.replaceWith(message);
    return;
  }
  const canvas = viewer.get("canvas");
  const registry = viewer.get("elementRegistry");
  const overlays = viewer.get("overlays");
  canvas.zoom("fit-viewport");
  for (const [id, state] of pairs(container.dataset.markers)) {
    if (registry.get(id)) canvas.addMarker(id, "run-" + state);
  }
  for (const [id, count] of pairs(container.dataset.counts)) {
    if (!registry.get(id)) continue;
    const badge = document.createElement("span");
    badge.className = "run-count";
    badge.textContent = count;
    badge.title = (container.dataset.countLabel || "{n}").replace("{n}", count);
    overlays.add(id, "run-count", {position: {top: -10, right: 10}, html: badge});
  }
  const rows = Array.from(document.querySelectorAll("#timeline li[data-element]"));
  let chosen = null;
  const choose = (id, fromRow) => {
    if (chosen && registry.get(chosen)) canvas.removeMarker(chosen, "chosen");
    for (const row of document.querySelectorAll(".chosen-row")) row.classList.remove("chosen-row");
    chosen = id;
    container.dataset.chosen = id || "";
    if (!id) return;
    if (registry.get(id)) {
      canvas.addMarker(id, "chosen");
      if (fromRow) canvas.scrollToElement(registry.get(id));
    }
    const mine = document.querySelectorAll(`[data-element="${CSS.escape(id)}"]:not(#diagram *)`);
    for (const row of mine) row.classList.add("chosen-row");
    if (!fromRow && mine.length) mine[0].scrollIntoView({block: "nearest"});
  };
  for (const row of rows) {
    row.addEventListener("click", () => choose(row.dataset.element, true));
    row.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); choose(row.dataset.element, true); }
    });
  }
  viewer.on("element.click", (event) => {
    const id = event.element && event.element.id;
    choose(id && id !== canvas.getRootElement().id ? id : null, false);
  });
  container.dataset.drawn = "true";
});
