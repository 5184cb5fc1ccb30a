// The analyst's modeler (app/web/templates/modeler.html): the vendored bpmn-js modeler with our own
// properties panel for what the engine reads (docs/engine.md: spiffworkflow properties, scripts, the
// service operator and its parameters, conditions, timers, messages, call activities, name@zh), the
// check that ties each problem to its element, the deploy and a test instance. Every text it shows
// comes from the page (#modeler-options' data-options: the reader's language); the bpmn.io watermark stays visible.
"use strict";
(() => {
  const PROPERTIES = "spiffworkflow:Properties";
  const OPERATOR = "spiffworkflow:ServiceTaskOperator";
  const TIMER_KINDS = ["timeDate", "timeDuration", "timeCycle"];
  const MARGIN = 20;  // screen pixels around the diagram

  // The whole diagram in view right of the palette, which floats over the canvas's left edge (fit-viewport put
  // the start event under it and the top row against the edge).
  function fitBesideThePalette(canvas, container) {
    canvas.zoom("fit-viewport");
    const palette = container.querySelector(".djs-palette");
    const inset = palette ? palette.getBoundingClientRect().right - container.getBoundingClientRect().left : 0;
    const {outer, inner} = canvas.viewbox();
    if (!inner.width || !inner.height) return;
    const scale = Math.min(1, (outer.width - inset - 2 * MARGIN) / inner.width,
      (outer.height - 2 * MARGIN) / inner.height);
    if (scale <= 0) return;
    canvas.viewbox({x: inner.x - (inset + MARGIN) / scale, y: inner.y - MARGIN / scale,
      width: outer.width / scale, height: outer.height / scale});
  }

  document.addEventListener("DOMContentLoaded", async () => {
    const container = document.getElementById("canvas");
    if (!container || typeof BpmnJS === "undefined") return;
    const {options, text, types} = JSON.parse(document.getElementById("modeler-options").dataset.options);
    const status = document.getElementById("modeler-status");
    const panel = document.getElementById("properties-body");
    const checkButton = document.getElementById("check-button");
    const deployButton = document.getElementById("deploy-button");
    let descriptor;
    try {
      const response = await fetch(container.dataset.moddle, {credentials: "same-origin"});
      descriptor = await response.json();
    } catch (error) {
      status.textContent = text.draw_failed;
      return;
    }
    const modeler = new BpmnJS({container, moddleExtensions: {spiffworkflow: descriptor}});
    try {
      await modeler.importXML(document.getElementById("diagram-source").value);
    } catch (error) {
      status.textContent = text.draw_failed;
      return;
    }
    const canvas = modeler.get("canvas");
    const registry = modeler.get("elementRegistry");
    const modeling = modeler.get("modeling");
    const moddle = modeler.get("moddle");
    const overlays = modeler.get("overlays");
    const selection = modeler.get("selection");
    const eventBus = modeler.get("eventBus");
    fitBesideThePalette(canvas, container);
    container.dataset.drawn = "true";

    // ---- the model: extension elements and spiffworkflow properties -------------------------------
    const is = (element, type) => Boolean(element && element.businessObject && element.businessObject.$instanceOf(type));
    const values = (ext) => (ext ? ext.get("values") : []);
    const findExt = (bo, type) => values(bo.get("extensionElements")).find((v) => v.$instanceOf(type));

    function ensureExt(element, bo, type, attrs) {
      let ext = bo.get("extensionElements");
      if (!ext) {
        ext = moddle.create("bpmn:ExtensionElements", {values: []});
        ext.$parent = bo;
        modeling.updateModdleProperties(element, bo, {extensionElements: ext});
      }
      let found = values(ext).find((v) => v.$instanceOf(type));
      if (!found) {
        found = moddle.create(type, attrs || {});
        found.$parent = ext;
        modeling.updateModdleProperties(element, ext, {values: [...values(ext), found]});
      }
      return found;
    }

    function dropExt(element, bo, type) {
      const ext = bo.get("extensionElements");
      const found = findExt(bo, type);
      if (found) modeling.updateModdleProperties(element, ext, {values: values(ext).filter((v) => v !== found)});
    }

    function getProperty(bo, name) {
      const props = findExt(bo, PROPERTIES);
      const found = props && props.get("properties").find((p) => p.name === name);
      return found ? found.value || "" : "";
    }

    function setProperty(element, bo, name, value) {
      const props = value ? ensureExt(element, bo, PROPERTIES) : findExt(bo, PROPERTIES);
      if (!props) return;
      const list = props.get("properties");
      const found = list.find((p) => p.name === name);
      if (found && value) {
        modeling.updateModdleProperties(element, found, {value});
      } else if (found) {
        modeling.updateModdleProperties(element, props, {properties: list.filter((p) => p !== found)});
      } else if (value) {
        const created = moddle.create("spiffworkflow:Property", {name, value});
        created.$parent = props;
        modeling.updateModdleProperties(element, props, {properties: [...list, created]});
      }
    }

    const getBody = (bo, type) => {
      const found = findExt(bo, type);
      return found ? found.value || "" : "";
    };

    function setBody(element, bo, type, value) {
      if (value) modeling.updateModdleProperties(element, ensureExt(element, bo, type), {value});
      else dropExt(element, bo, type);
    }

    const expression = (body) => (body ? moddle.create("bpmn:FormalExpression", {body}) : undefined);

    // ---- the process this page edits ------------------------------------------------------------------
    function processTarget() {
      const root = canvas.getRootElement();
      if (is(root, "bpmn:Process")) return {element: root, bo: root.businessObject};
      const pool = registry.filter((e) => is(e, "bpmn:Participant") && e.businessObject.processRef
        && e.businessObject.processRef.id === container.dataset.process)[0]
        || registry.filter((e) => is(e, "bpmn:Participant") && e.businessObject.processRef)[0];
      return pool ? {element: pool, bo: pool.businessObject.processRef} : {element: root, bo: root.businessObject};
    }

    function elementFor(id) {
      if (!id) return null;
      const found = registry.get(id);
      if (found && found.type !== "label") return found;
      const target = processTarget();
      return target.bo && target.bo.id === id && target.element.type !== "bpmn:Collaboration" ? target.element : null;
    }

    function laneOf(bo) {
      return registry.filter((e) => is(e, "bpmn:Lane") && (e.businessObject.get("flowNodeRef") || []).includes(bo))[0];
    }

    const roleLabel = (code) => {
      const role = options.roles.find((r) => r.value === code);
      return role ? role.label : code;
    };

    // ---- the panel's controls ---------------------------------------------------------------------------
    let seq = 0;
    let panelTarget = panel;  // where the panel builds now: itself, or a parameter's fieldset
    const place = (...nodes) => panelTarget.append(...nodes);

    function field(label, control, hint) {
      const wrap = document.createElement("div");
      wrap.className = "field";
      const id = `prop-${++seq}`;
      const caption = document.createElement("label");
      caption.htmlFor = id;
      caption.textContent = label;
      control.id = id;
      wrap.append(caption, control);
      if (hint) {
        const note = document.createElement("p");
        note.className = "hint";
        note.textContent = hint;
        wrap.append(note);
      }
      place(wrap);
      return control;
    }

    function input(key, label, value, commit, opts = {}) {
      const control = document.createElement(opts.multiline ? "textarea" : "input");
      control.value = value || "";
      control.dataset.key = key;
      if (opts.multiline) control.rows = opts.rows || 4;
      if (opts.code) {
        control.classList.add("code");
        control.setAttribute("translate", "no");
        control.spellcheck = false;
      }
      if (opts.lang) control.lang = opts.lang;
      if (opts.list) control.setAttribute("list", opts.list);
      control.addEventListener("change", () => commit(control.value.trim() ? control.value : ""));
      return field(label, control, opts.hint);
    }

    function choice(key, label, value, choices, commit, opts = {}) {
      const control = document.createElement("select");
      control.dataset.key = key;
      const add = (optionValue, optionLabel, extra = {}) => {
        const option = document.createElement("option");
        option.value = optionValue;
        option.textContent = optionLabel;
        if (extra.code) option.setAttribute("translate", "no");  // a file name or an operator: the id is the thing
        if (extra.lang) option.lang = extra.lang;
        control.append(option);
      };
      if (opts.none !== false) add("", text.none);
      if (value && !choices.some((c) => c.value === value)) add(value, `${value} ${text.unknown}`, {code: true});
      for (const c of choices) add(c.value, c.label, c);
      control.value = value || "";
      control.addEventListener("change", () => commit(control.value));
      return field(label, control, opts.hint);
    }

    function note(label, value, opts = {}) {
      const wrap = document.createElement("div");
      wrap.className = "field";
      const caption = document.createElement("p");
      caption.className = "field-label";
      caption.textContent = label;
      const content = document.createElement("p");
      content.textContent = value;
      if (opts.code) {
        content.className = "code";
        content.setAttribute("translate", "no");
      }
      wrap.append(caption, content);
      place(wrap);
    }

    function heading(label) {
      const h = document.createElement("h3");
      h.textContent = label;
      place(h);
    }

    const plain = (list) => list.map((v) => ({value: v, label: v, code: true}));
    // an element's name in the page's language (name@zh on a Chinese page), else its English name, else its id
    const chinese = document.documentElement.lang.startsWith("zh");
    function displayName(bo) {
      const zh = chinese ? getProperty(bo, "name@zh") : "";
      if (zh) return {label: zh};
      if (bo.name) return {label: bo.name, lang: chinese ? "en" : undefined};
      return {label: bo.id, code: true};
    }

    // ---- what each kind of element shows ----------------------------------------------------------------
    function names(element, bo, forProcess) {
      input("name", text.name, bo.name, (v) => {
        if (forProcess) modeling.updateModdleProperties(element, bo, {name: v || undefined});
        else modeling.updateLabel(element, v);
      }, {lang: "en"});
      input("name_zh", text.name_zh, getProperty(bo, "name@zh"), (v) => setProperty(element, bo, "name@zh", v),
        {lang: "zh-CN"});
    }

    function userTask(element, bo) {
      const lane = laneOf(bo);
      note(text.lane, lane ? roleLabel(lane.businessObject.name || "") : text.no_lane);
      const hint = panel.lastChild.appendChild(document.createElement("p"));
      hint.className = "hint";
      hint.textContent = text.lane_hint;
      const prop = (key) => getProperty(bo, key);
      const set = (key) => (v) => setProperty(element, bo, key, v);
      choice("form", text.form, prop("formJsonSchemaFilename"), plain(options.forms), set("formJsonSchemaFilename"));
      choice("ui_form", text.ui_form, prop("formUiSchemaFilename"), plain(options.ui_forms), set("formUiSchemaFilename"));
      input("due_in", text.due_in, prop("dueIn"), set("dueIn"), {code: true});
      input("due_at", text.due_at, prop("dueAtExpression"), set("dueAtExpression"), {code: true});
      choice("priority", text.priority, prop("priority"), plain(["1", "2", "3", "4", "5"]), set("priority"));
      input("priority_expression", text.priority_expression, prop("priorityExpression"), set("priorityExpression"),
        {code: true});
      const others = registry.filter((e) => is(e, "bpmn:UserTask") && e !== element)
        .map((e) => ({value: e.id, ...displayName(e.businessObject)}));
      choice("four_eyes", text.four_eyes, prop("separateFrom"), others, set("separateFrom"));
    }

    function serviceTask(element, bo) {
      const operator = findExt(bo, OPERATOR);
      choice("service_operator", text.service_operator, operator ? operator.id : "", plain(options.operators), (v) => {
        if (v) modeling.updateModdleProperties(element, ensureExt(element, bo, OPERATOR), {id: v});
        else dropExt(element, bo, OPERATOR);
      });
      input("result_variable", text.result_variable, operator ? operator.resultVariable : "", (v) =>
        modeling.updateModdleProperties(element, ensureExt(element, bo, OPERATOR), {resultVariable: v || undefined}),
      {code: true});
      heading(text.parameters);
      const list = operator && operator.parameterList ? operator.parameterList.get("parameters") : [];
      list.forEach((parameter, index) => {
        const row = document.createElement("fieldset");
        row.className = "parameter";
        const legend = document.createElement("legend");
        legend.textContent = `${text.parameter} ${index + 1}`;
        row.append(legend);
        place(row);
        withPanel(row, () => {
          input(`param-${index}-id`, text.parameter, parameter.id, (v) =>
            modeling.updateModdleProperties(element, parameter, {id: v}), {code: true});
          input(`param-${index}-value`, text.value, parameter.value, (v) =>
            modeling.updateModdleProperties(element, parameter, {value: v}), {code: true});
        });
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "link";
        remove.dataset.key = `param-${index}-remove`;
        remove.textContent = text.remove;
        remove.addEventListener("click", () => {
          const params = operator.parameterList;
          modeling.updateModdleProperties(element, params, {parameters: params.get("parameters").filter((p) => p !== parameter)});
        });
        row.append(remove);
      });
      const add = document.createElement("button");
      add.type = "button";
      add.dataset.key = "param-add";
      add.textContent = text.add_parameter;
      add.addEventListener("click", () => {
        const op = ensureExt(element, bo, OPERATOR);
        let params = op.parameterList;
        if (!params) {
          params = moddle.create("spiffworkflow:Parameters", {parameters: []});
          params.$parent = op;
          modeling.updateModdleProperties(element, op, {parameterList: params});
        }
        const taken = new Set(params.get("parameters").map((p) => p.id));
        let n = params.get("parameters").length + 1;
        while (taken.has(`param${n}`)) n += 1;
        const created = moddle.create("spiffworkflow:Parameter", {id: `param${n}`, type: "str", value: "None"});
        created.$parent = params;
        modeling.updateModdleProperties(element, params, {parameters: [...params.get("parameters"), created]});
      });
      place(add);
    }

    function withPanel(target, build) {
      const outer = panelTarget;
      panelTarget = target;
      try { build(); } finally { panelTarget = outer; }
    }

    function scripts(element, bo) {
      if (is(element, "bpmn:ScriptTask")) {
        input("script", text.script, bo.script, (v) => modeling.updateProperties(element, {script: v || undefined}),
          {multiline: true, code: true, rows: 6});
      }
      input("pre_script", text.pre_script, getBody(bo, "spiffworkflow:PreScript"),
        (v) => setBody(element, bo, "spiffworkflow:PreScript", v), {multiline: true, code: true});
      input("post_script", text.post_script, getBody(bo, "spiffworkflow:PostScript"),
        (v) => setBody(element, bo, "spiffworkflow:PostScript", v), {multiline: true, code: true});
    }

    function sequenceFlow(element, bo) {
      const condition = bo.conditionExpression ? bo.conditionExpression.body || "" : "";
      input("condition", text.condition, condition,
        (v) => modeling.updateProperties(element, {conditionExpression: expression(v)}), {multiline: true, code: true, rows: 2});
      const source = element.source;
      if (source && source.businessObject.$instanceOf("bpmn:Gateway") && "default" in source.businessObject.$descriptor.propertiesByName) {
        const box = document.createElement("input");
        box.type = "checkbox";
        box.dataset.key = "default";
        box.checked = source.businessObject.default === bo;
        box.addEventListener("change", () => modeling.updateProperties(source, {default: box.checked ? bo : undefined}));
        field(text.default_flow, box).parentElement.classList.add("check");
      }
    }

    function definitions() {
      return modeler.getDefinitions();
    }

    function messageNamed(element, name) {
      const defs = definitions();
      const roots = defs.get("rootElements");
      let message = roots.find((r) => r.$instanceOf("bpmn:Message") && r.name === name);
      if (!message) {
        const base = `msg_${name.replace(/[^A-Za-z0-9_]/g, "_")}`;
        let id = base;
        for (let n = 2; registry.get(id) || roots.some((r) => r.id === id); n += 1) id = `${base}_${n}`;
        message = moddle.create("bpmn:Message", {id, name});
        message.$parent = defs;
        modeling.updateModdleProperties(element, defs, {rootElements: [...roots, message]});
      }
      return message;
    }

    function messages(element, holder, variableHolder, sends = false) {
      const names = definitions().get("rootElements").filter((r) => r.$instanceOf("bpmn:Message") && r.name).map((r) => r.name);
      let list = document.getElementById("message-names");
      if (!list) {
        list = document.createElement("datalist");
        list.id = "message-names";
        document.body.append(list);
      }
      list.replaceChildren(...names.map((n) => Object.assign(document.createElement("option"), {value: n})));
      input("message", text.message, holder.messageRef ? holder.messageRef.name : "", (v) =>
        modeling.updateModdleProperties(element, holder, {messageRef: v ? messageNamed(element, v.trim()) : undefined}),
      {code: true, list: "message-names"});
      if (sends) {  // what it carries, and where it goes (docs/engine.md, "Waiting")
        input("message_payload", text.message_payload, getBody(variableHolder, "spiffworkflow:MessagePayload"),
          (v) => setBody(element, variableHolder, "spiffworkflow:MessagePayload", v), {code: true});
        note(text.sending, text.sending_text);
        return;
      }
      input("message_variable", text.message_variable, getBody(variableHolder, "spiffworkflow:MessageVariable"),
        (v) => setBody(element, variableHolder, "spiffworkflow:MessageVariable", v), {code: true});
      note(text.correlation, text.correlation_text);
    }

    function timer(element, definition) {
      const kind = TIMER_KINDS.find((k) => definition.get(k)) || "timeDuration";
      const value = definition.get(kind) ? definition.get(kind).body || "" : "";
      choice("timer", text.timer, kind, TIMER_KINDS.map((k) => ({value: k, label: text[k]})), (v) => {
        const props = {};
        for (const k of TIMER_KINDS) props[k] = undefined;
        props[v] = expression(value);
        modeling.updateModdleProperties(element, definition, props);
      }, {none: false});
      input("timer_value", text.timer_value, value, (v) => {
        const props = {};
        for (const k of TIMER_KINDS) props[k] = undefined;
        props[kind] = expression(v);
        modeling.updateModdleProperties(element, definition, props);
      }, {code: true});
    }

    let shown = null;

    function render(element) {
      const focused = document.activeElement && panel.contains(document.activeElement) ? document.activeElement.dataset.key : null;
      panel.replaceChildren();
      shown = element;
      const target = element || processTarget().element;
      const forProcess = !element || is(target, "bpmn:Participant") || is(target, "bpmn:Process");
      const bo = forProcess ? processTarget().bo : target.businessObject;
      const named = forProcess ? text.process : types[bo.$type];
      note(text.type, named || bo.$type.replace(/^bpmn:/, ""), {code: !named});
      note(text.id, bo.id, {code: true});
      if (forProcess) {
        names(processTarget().element, bo, true);
      } else if (is(target, "bpmn:Lane")) {
        choice("lane_role", text.lane_role, bo.name || "", options.roles,
          (v) => modeling.updateLabel(target, v), {none: false});
      } else {
        names(target, bo, false);
        if (is(target, "bpmn:UserTask")) userTask(target, bo);
        if (is(target, "bpmn:ServiceTask")) serviceTask(target, bo);
        if (is(target, "bpmn:CallActivity")) {
          choice("called_process", text.called_process, bo.calledElement || "", options.processes,
            (v) => modeling.updateProperties(target, {calledElement: v || undefined}));
        }
        if (is(target, "bpmn:BusinessRuleTask")) {
          choice("called_decision", text.called_decision, getBody(bo, "spiffworkflow:CalledDecisionId"), options.decisions,
            (v) => setBody(target, bo, "spiffworkflow:CalledDecisionId", v));
        }
        if (is(target, "bpmn:ReceiveTask")) messages(target, bo, bo);
        if (is(target, "bpmn:SendTask")) messages(target, bo, bo, true);
        if (is(target, "bpmn:Activity") && !is(target, "bpmn:SubProcess") && !is(target, "bpmn:CallActivity")) scripts(target, bo);
        if (is(target, "bpmn:SequenceFlow")) sequenceFlow(target, bo);
        for (const definition of bo.get("eventDefinitions") || []) {
          if (definition.$instanceOf("bpmn:TimerEventDefinition")) timer(target, definition);
          if (definition.$instanceOf("bpmn:MessageEventDefinition")) {
            messages(target, definition, definition, is(target, "bpmn:IntermediateThrowEvent") || is(target, "bpmn:EndEvent"));
          }
        }
      }
      if (focused) {
        const again = panel.querySelector(`[data-key="${CSS.escape(focused)}"]`);
        if (again) again.focus();
      }
    }

    eventBus.on("selection.changed", (event) => {
      const selected = event.newSelection.map((e) => (e.type === "label" ? e.labelTarget : e));
      render(selected.length === 1 ? selected[0] : null);
    });
    eventBus.on("elements.changed", (event) => {
      const touched = event.elements.some((e) => e === shown || (shown && e.businessObject === shown.businessObject));
      if (touched || !shown) render(shown && registry.get(shown.id) ? shown : null);
    });
    render(null);

    // ---- check, problems on the canvas, deploy, test instance --------------------------------------
    const list = document.getElementById("problems");
    const empty = document.getElementById("problems-empty");
    let marked = [];

    function clearProblems() {
      for (const [id, cls] of marked) {
        if (registry.get(id)) canvas.removeMarker(id, cls);
      }
      marked = [];
      overlays.remove({type: "problem"});
      list.replaceChildren();
    }

    // a reason's pieces, the code in it (the diagram's own words in a Chinese page) marked translate="no"
    const reasonPieces = (problem) => (problem.reason_parts || [[problem.reason, false]]).map(([piece, code]) => code
      ? Object.assign(document.createElement("span"), {className: "code", textContent: piece, translate: false})
      : piece);

    function showProblems(problems) {
      clearProblems();
      const counted = new Map();
      for (const problem of problems) {
        const target = elementFor(problem.element_id);
        const item = document.createElement("li");
        item.className = `problem problem-${problem.severity}`;
        item.dataset.element = problem.element_id || "";
        item.dataset.severity = problem.severity;
        const kind = document.createElement("strong");
        kind.textContent = `${problem.severity === "error" ? text.error : text.warning}: `;
        const where = document.createElement(target ? "button" : "span");
        const shown = target ? displayName(target.businessObject) : {label: text.whole_diagram};
        where.textContent = shown.label;
        if (shown.lang) where.lang = shown.lang;
        if (shown.code) where.setAttribute("translate", "no");
        if (target) {
          where.type = "button";
          where.className = "link problem-element";
          where.addEventListener("click", () => {
            selection.select(target);
            canvas.scrollToElement(target);
          });
          const cls = `problem-${problem.severity}`;
          if (!canvas.hasMarker(target, cls)) {
            canvas.addMarker(target, cls);
            marked.push([target.id, cls]);
          }
          counted.set(target, [(counted.get(target) || [0])[0] + 1, problem.severity === "error" || (counted.get(target) || [0, false])[1]]);
        }
        const reason = document.createElement("span");
        reason.className = "reason";
        reason.append(" ", ...reasonPieces(problem));
        item.append(kind, where, reason);
        list.append(item);
      }
      for (const [target, [count, error]] of counted) {
        const badge = document.createElement("span");
        badge.className = `problem-badge ${error ? "problem-badge-error" : "problem-badge-warning"}`;
        badge.textContent = String(count);
        badge.setAttribute("aria-hidden", "true");
        overlays.add(target, "problem", {position: {top: -10, left: -10}, html: badge});
      }
      if (!problems.length) empty.textContent = text.no_problems;
      empty.hidden = problems.length > 0;
    }

    const post = (url, body, type) => fetch(url, {
      method: "POST", credentials: "same-origin", body,
      headers: {"Content-Type": type, "Accept": "application/json", "X-CSRFToken": container.dataset.csrf},
    });

    function setState(state, message) {
      container.dataset.checked = state;
      status.textContent = message;
    }

    let undeployed = container.dataset.new === "true";  // what the browser holds alone: leaving the page asks first
    window.addEventListener("beforeunload", (event) => {
      if (undeployed) event.preventDefault();
    });
    eventBus.on("commandStack.changed", () => {
      undeployed = true;
      deployButton.disabled = true;
      setState("changed", text.changed);
    });

    checkButton.addEventListener("click", async () => {
      checkButton.disabled = true;
      setState("checking", text.checking);
      try {
        const {xml} = await modeler.saveXML({format: true});
        const response = await post(container.dataset.check, xml, "application/xml");
        if (!response.ok) throw new Error(String(response.status));
        const {problems} = await response.json();
        showProblems(problems);
        const errors = problems.filter((p) => p.severity === "error").length;
        deployButton.disabled = errors > 0;
        setState(errors ? "errors" : "ok", errors ? text.has_errors : (problems.length ? text.only_warnings : text.no_problems));
      } catch (error) {
        setState("failed", text.failed);
      } finally {
        checkButton.disabled = false;
      }
    });

    deployButton.addEventListener("click", async () => {
      deployButton.disabled = true;
      setState("deploying", text.deploying);
      try {
        const {xml} = await modeler.saveXML({format: true});
        const response = await post(container.dataset.deploy, xml, "application/xml");
        const answer = await response.json();
        if (answer.problems) showProblems(answer.problems);
        if (!answer.deployed) {
          setState("errors", answer.message || (answer.error && answer.error.message) || text.failed);
          return;
        }
        undeployed = false;
        setState("deployed", answer.message);
        const result = document.getElementById("deploy-result");
        const link = result.querySelector("a");
        link.href = answer.url;
        link.textContent = answer.link;
        result.hidden = false;
        result.dataset.version = String(answer.version);
        document.getElementById("test-instance").hidden = false;
      } catch (error) {
        setState("failed", text.failed);
      }
    });

    // a refusal and what it says of each field (start data its start form refuses: "amount: Required.")
    const refusal = (error) => [error && error.message || text.failed,
      ...Object.entries((error && error.fields) || {}).map(([name, said]) => `${name}: ${[].concat(said).join(" ")}`)
    ].join(" ");
    const startForm = document.getElementById("start-form");
    startForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const result = document.getElementById("start-result");
      const button = document.getElementById("start-button");
      button.disabled = true;
      result.textContent = text.starting;
      try {
        const key = document.getElementById("business-key").value;
        const response = await post(container.dataset.start, JSON.stringify({business_key: key}), "application/json");
        const answer = await response.json();
        result.textContent = response.ok ? answer.message : refusal(answer.error);
        if (response.ok) {
          result.dataset.instance = String(answer.instance_id);
          const link = document.createElement("a");  // to the instance it started
          link.href = answer.url;
          link.textContent = answer.link;
          link.id = "start-instance-link";
          result.append(" ", link);
        }
      } catch (error) {
        result.textContent = text.failed;
      } finally {
        button.disabled = false;
      }
    });
  });
})();
