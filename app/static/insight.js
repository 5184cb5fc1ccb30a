// Insight pages (app/web/insight.py): charts drawn by the vendored Chart.js from the table beside each
// chart (the table is what a screen reader and the tests read), and a process version's heatmap drawn
// by the vendored bpmn-js viewer with each element coloured and labelled from the heatmap's table.
// No inline script or style: the pages' Content-Security-Policy.
"use strict";

const COLOURS = ["#1f6feb", "#d97706", "#15803d", "#b91c1c"];

function tableRows(table) {
  return Array.from(table.querySelectorAll("tbody tr")).filter((row) => row.querySelector("[data-value]"));
}

function drawChart(canvas) {
  const table = document.getElementById(canvas.dataset.table);
  if (!table || typeof Chart === "undefined") return;
  const headers = Array.from(table.querySelectorAll("thead th")).map((th) => th.textContent.trim());
  const columns = (canvas.dataset.columns || "1").split(" ").map(Number);
  const rows = tableRows(table);
  const labels = rows.map((row) => row.dataset.chartLabel || row.querySelector("th").textContent.trim());
  const datasets = columns.map((column, index) => ({
    label: headers[column],
    data: rows.map((row) => Number(row.children[column].dataset.value || 0)),
    backgroundColor: COLOURS[index % COLOURS.length],
  }));
  new Chart(canvas, {
    type: canvas.dataset.chart || "bar",
    data: {labels, datasets},
    options: {responsive: true, maintainAspectRatio: false, animation: false,
              scales: {y: {beginAtZero: true}}},
  });
  canvas.dataset.drawn = "true";
}

async function drawHeatmap(container) {
  if (typeof BpmnJS === "undefined") return;
  try {
    const response = await fetch(container.dataset.source, {credentials: "same-origin"});
    if (!response.ok) throw new Error(String(response.status));
    const viewer = new BpmnJS({container});
    await viewer.importXML(await response.text());
    const canvas = viewer.get("canvas");
    const overlays = viewer.get("overlays");
    canvas.zoom("fit-viewport");
    const table = document.getElementById(container.dataset.table);
    for (const row of table ? table.querySelectorAll("tbody tr[data-element]") : []) {
      const id = row.dataset.element;
      try {
        canvas.addMarker(id, "heat-" + row.dataset.level);
        const label = document.createElement("span");
        label.className = "heat-count";
        label.dataset.element = id;
        label.textContent = row.dataset.label;
        overlays.add(id, "heat", {position: {top: -22, left: 0}, html: label});
      } catch (e) { /* an element the diagram does not draw */ }
    }
    container.dataset.drawn = "true";
  } catch (error) {
    const message = document.createElement("p");
    message.className = "error";
    message.textContent = container.dataset.failed;
    container.replaceWith(message);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("canvas[data-chart]").forEach(drawChart);
  const heatmap = document.getElementById("heatmap");
  if (heatmap) drawHeatmap(heatmap);
});
