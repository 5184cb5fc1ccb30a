// The decision table's own words (dmn-js is in English) in the reader's language, for the decision
// editor and the catalogue's viewer: a `translate` service over the page's dictionary (the box's
// data-words, from app/web/dmn_words.py); "{name}" in a text takes the value dmn-js gives for it.
// The answer is the part of dmn-js's options that installs it in every view.
"use strict";
window.dmnWords = (box) => {
  const words = JSON.parse(box.dataset.words || "{}");
  const translate = (text, replacements) => (words[text] || text).replace(/{([^}]+)}/g, (whole, key) =>
    (replacements && replacements[key] !== undefined ? replacements[key] : whole));
  const modules = {additionalModules: [{translate: ["value", translate]}]};
  // dmn-js takes a view's modules from that view's options only (its `common` ones are replaced)
  return {drd: modules, decisionTable: modules, literalExpression: modules, boxedExpression: modules};
};
