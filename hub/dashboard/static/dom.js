// A small element builder: text always goes in as text (never parsed as HTML), so names that
// come from the API cannot inject markup.

/**
 * h("td", { class: "num", title: "…" }, "12.3") → <td class="num" title="…">12.3</td>
 * Attributes starting with "on" are event listeners; null/undefined/false children are skipped.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : String(child));
  }
}

/** Replace everything inside `element` with `children`. */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** Text made safe to put inside HTML (chart tooltips are HTML strings). */
export function escapeHtml(text) {
  const entities = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  return String(text).replace(/[&<>"']/g, (c) => entities[c]);
}

/** A password field for an API token: never autofilled, never spell-checked. */
export function tokenInput(id, value = "") {
  return h("input", { id, type: "password", autocomplete: "off", spellcheck: "false", class: "token-input", value });
}

/** A form of `input` under `label`, and `buttons`; submitting calls `onSubmit` instead of loading a page. */
export function tokenForm(input, label, buttons, onSubmit) {
  return h(
    "form",
    {
      class: "token-form",
      autocomplete: "off",
      onsubmit: (event) => {
        event.preventDefault();
        onSubmit();
      },
    },
    h("label", { class: "field", for: input.id }, h("span", { class: "field-label" }, label), input),
    h("div", { class: "buttons" }, ...buttons),
  );
}
