// The decision editor (decision_editor.html): the newest version's file in the vendored dmn-js modeler
// (app/static/vendor/dmn-js; its bpmn.io watermark stays visible). Check posts the edited file to the
// server's strict check and lists each problem with its rule and column, marking the cell it concerns;
// Deploy makes the next version. The server answers in the reader's language.
"use strict";
document.addEventListener("DOMContentLoaded", async () => {
  const box = document.getElementById("dmn-editor");
  if (!box || typeof DmnJS === "undefined") return;
  const status = document.getElementById("editor-status");
  const list = document.getElementById("table-problems");
  const msg = box.dataset;
  const modeler = new DmnJS({container: box, ...window.dmnWords(box)});

  const openTable = async () => {
    const table = modeler.getViews().find((view) => view.type === "decisionTable");
    if (table && modeler.getActiveView() !== table) await modeler.open(table);
  };
  const markProblems = (problems) => {
    for (const cell of box.querySelectorAll(".has-problem")) cell.classList.remove("has-problem");
    for (const p of problems) {
      if (!p.element_id) continue;
      for (const cell of box.querySelectorAll(`[data-element-id="${CSS.escape(p.element_id)}"]`)) {
        cell.classList.add("has-problem");
      }
    }
  };
  const show = (answer) => {
    list.replaceChildren();
    for (const p of answer.problems || []) {
      const item = document.createElement("li");
      item.className = p.severity;
      if (p.element_id) item.dataset.elementId = p.element_id;
      const where = document.createElement("strong");
      where.textContent = `${p.severity === "error" ? msg.msgError : msg.msgWarning} · ${p.where}: `;
      const reason = document.createElement("span");  // in the reader's language, the table's own words as code
      reason.append(...(p.reason_parts || [[p.reason, false]]).map(([piece, code]) => code
        ? Object.assign(document.createElement("span"), {className: "code", textContent: piece, translate: false})
        : piece));
      item.append(where, reason);
      list.append(item);
    }
    markProblems(answer.problems || []);
  };
  const send = async (url) => {
    status.textContent = msg.msgChecking;
    const {xml} = await modeler.saveXML({format: true});
    try {
      const response = await fetch(url, {method: "POST", credentials: "same-origin", body: xml,
        headers: {"Content-Type": "application/xml", "X-CSRFToken": msg.csrf}});
      const answer = await response.json();
      show(answer);
      status.textContent = answer.message || (answer.ok ? msg.msgValid : msg.msgInvalid);
      status.dataset.outcome = answer.ok ? "ok" : "refused";
    } catch (error) {
      status.textContent = msg.msgUnreachable;
      status.dataset.outcome = "failed";
    }
  };

  try {
    const response = await fetch(msg.source, {credentials: "same-origin"});
    if (!response.ok) throw new Error(String(response.status));
    await modeler.importXML(await response.text());
    await openTable();
    box.dataset.drawn = "true";
  } catch (error) {
    const failed = document.createElement("p");
    failed.className = "error";
    failed.textContent = msg.msgFailed;
    box.replaceWith(failed);
    return;
  }
  document.getElementById("check-table").addEventListener("click", () => send(msg.check));
  document.getElementById("deploy-table").addEventListener("click", () => send(msg.deploy));
});
