/*
 * flask-passport frontend quickstart: three framework-free web components over the JSON APIs.
 *
 *   <passport-clients></passport-clients>                       your OAuth clients
 *   <passport-authorized-clients></passport-authorized-clients> apps you authorized
 *   <passport-personal-access-tokens></passport-personal-access-tokens>
 *
 * Include with {{ passport_components() }} (a CSRF meta tag plus this script). No build step.
 * Each component uses an open Shadow DOM with neutral styles that inherit the page's font and
 * colours; tune them with CSS custom properties on the element:
 *   --passport-accent, --passport-danger, --passport-border, --passport-muted, --passport-radius
 * All data is inserted as text (never as HTML). Components emit bubbling events:
 *   passport:client-created, passport:client-updated, passport:client-deleted,
 *   passport:token-created, passport:token-revoked
 */
(() => {
  "use strict";
  const script = document.currentScript;
  const BASE = (script && script.dataset.passportBase) || "/oauth";

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  async function api(method, path, body) {
    const options = {
      method,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": csrfToken() },
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(BASE + path, options);
    let data = null;
    if (response.status !== 204) {
      try { data = await response.json(); } catch (e) { data = null; }
    }
    if (!response.ok) {
      const error = new Error((data && data.message) || "Request failed (" + response.status + ").");
      error.status = response.status;
      error.errors = (data && data.errors) || {};
      throw error;
    }
    return data;
  }

  /* h("button", {class: "x", onclick: fn}, "text", child, ...) — text children become text nodes. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else if (key === "value") el.value = value;
      else if (key === "checked") el.checked = Boolean(value);
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  const STYLE = `
    :host { display: block; font: inherit; color: inherit; margin: 0 0 1.5em;
      --_accent: var(--passport-accent, #2563eb); --_danger: var(--passport-danger, #b91c1c);
      --_border: var(--passport-border, rgba(127,127,127,.35));
      --_muted: var(--passport-muted, rgba(127,127,127,.95)); --_radius: var(--passport-radius, 6px); }
    .card { border: 1px solid var(--_border); border-radius: var(--_radius); padding: 1em;
      overflow-x: auto; }
    header { display: flex; justify-content: space-between; align-items: center; gap: 1em;
      margin-bottom: .75em; }
    h2 { font-size: 1.1em; margin: 0; }
    table { width: 100%; border-collapse: collapse; }
    th, td { text-align: left; padding: .4em .5em; border-top: 1px solid var(--_border);
      vertical-align: top; overflow-wrap: break-word; }
    /* Ids and URIs may break anywhere; words, dates and buttons stay whole on a phone. */
    td code, td.redirects { overflow-wrap: anywhere; }
    th { font-weight: 600; border-top: none; }
    td button { white-space: nowrap; }
    .muted, .empty { color: var(--_muted); }
    code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; }
    button { font: inherit; cursor: pointer; border-radius: var(--_radius); padding: .3em .8em;
      border: 1px solid var(--_border); background: transparent; color: inherit; }
    button.primary { background: var(--_accent); border-color: var(--_accent); color: #fff; }
    button.danger { color: var(--_danger); border-color: currentColor; }
    button.link { border: none; padding: .1em .3em; color: var(--_accent); }
    button.link.danger { color: var(--_danger); }
    button:disabled { opacity: .6; cursor: default; }
    form { display: grid; gap: .75em; margin: .75em 0; padding: 1em;
      border: 1px dashed var(--_border); border-radius: var(--_radius); }
    label { display: grid; gap: .25em; font-weight: 600; }
    label.check { display: flex; gap: .5em; align-items: center; font-weight: normal; }
    input[type=text], input[type=url] { font: inherit; padding: .4em .5em; color: inherit;
      background: transparent; border: 1px solid var(--_border); border-radius: var(--_radius); }
    input[aria-invalid=true] { border-color: var(--_danger); }
    .hint { font-weight: normal; font-size: .85em; color: var(--_muted); }
    .field-error, .error { color: var(--_danger); font-weight: normal; font-size: .9em; margin: 0; }
    .actions { display: flex; gap: .5em; flex-wrap: wrap; }
    .once { margin: .75em 0; padding: 1em; border: 1px solid var(--_accent);
      border-radius: var(--_radius); }
    .once p { margin: 0 0 .5em; }
    .secret { display: flex; gap: .5em; align-items: center; flex-wrap: wrap; }
    .secret code { padding: .3em .5em; border: 1px solid var(--_border); border-radius: var(--_radius);
      overflow-wrap: anywhere; max-width: 100%; user-select: all; }
    fieldset { border: none; padding: 0; margin: 0; display: grid; gap: .3em; }
    legend { font-weight: 600; margin-bottom: .25em; }
  `;

  /* A constructable stylesheet is shared by every element and is not an inline <style>, so the
     components also work under a Content-Security-Policy without 'unsafe-inline' styles. */
  let sharedSheet = null;
  try { sharedSheet = new CSSStyleSheet(); sharedSheet.replaceSync(STYLE); } catch (e) { sharedSheet = null; }

  class PassportElement extends HTMLElement {
    constructor() {
      super();
      this.attachShadow({ mode: "open" });
      if (sharedSheet) this.shadowRoot.adoptedStyleSheets = [sharedSheet];
      this.state = { loading: true, error: "" };
    }
    connectedCallback() { this.refresh(); }
    emit(name, detail) {
      this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
    }
    render() {
      const root = this.shadowRoot;
      const card = h("div", { class: "card" }, this.view());
      if (sharedSheet) root.replaceChildren(card);
      else root.replaceChildren(h("style", {}, STYLE), card);
    }
    copyButton(value) {
      return h("button", {
        type: "button", class: "copy", onclick: async (event) => {
          const button = event.currentTarget;
          try { await navigator.clipboard.writeText(value); button.textContent = "Copied"; }
          catch (e) { button.textContent = "Select and copy"; }
        },
      }, "Copy");
    }
    showOnce(title, label, value, extra) {
      return h("div", { class: "once", role: "status" },
        h("p", {}, h("strong", {}, title)),
        extra || null,
        h("p", { class: "muted" }, "Copy it now: this is the only time it will be shown."),
        h("div", { class: "secret" }, h("span", {}, label), h("code", { class: "new-secret" }, value),
          this.copyButton(value)),
        h("p", {}, h("button", { type: "button", class: "link", onclick: () => {
          this.state.shown = null; this.render();
        } }, "Done")));
    }
    fieldErrors(field) {
      const errors = (this.state.errors || {})[field] || [];
      return errors.map((message) => h("p", { class: "field-error", "data-field": field }, message));
    }
    invalid(field) { return Boolean((this.state.errors || {})[field]); }
    failure(error) {
      this.state.errors = error.errors || {};
      this.state.error = Object.keys(this.state.errors).length ? "" : error.message;
      this.state.busy = false;
      this.render();
    }
    errorLine() { return this.state.error ? h("p", { class: "error", role: "alert" }, this.state.error) : null; }
  }

  class PassportClients extends PassportElement {
    async refresh() {
      try { this.state.clients = await api("GET", "/clients"); this.state.error = ""; }
      catch (error) { this.state.error = error.message; this.state.clients = []; }
      this.state.loading = false;
      this.render();
    }
    view() {
      const s = this.state;
      return [
        h("header", {}, h("h2", {}, "OAuth Clients"),
          h("button", { type: "button", class: "primary create", onclick: () => this.openForm(null) },
            "Create New Client")),
        this.errorLine(),
        s.shown ? this.showOnce(s.shown.title, "Client secret:", s.shown.secret,
          h("p", {}, "Client ID: ", h("code", { class: "client-id" }, s.shown.id))) : null,
        s.form ? this.formView() : null,
        s.loading ? h("p", { class: "muted" }, "Loading…")
          : !s.clients.length ? h("p", { class: "empty" }, "You have not created any OAuth clients.")
            : h("table", {},
              h("thead", {}, h("tr", {}, h("th", {}, "Client ID"), h("th", {}, "Name"),
                h("th", {}, "Redirect URIs"), h("th", {}, ""))),
              h("tbody", {}, s.clients.map((c) => h("tr", { "data-id": c.id },
                h("td", {}, h("code", {}, c.id)),
                h("td", { class: "name" }, c.name, c.registered
                  ? h("span", { class: "muted registered", title: "Registered itself (RFC 7591)" }, " (registered)") : null),
                h("td", { class: "redirects" }, (c.redirect_uris || []).join(", ")),
                h("td", {}, h("div", { class: "actions" },
                  h("button", { type: "button", class: "link edit", onclick: () => this.openForm(c) }, "Edit"),
                  c.confidential ? h("button", { type: "button", class: "link regenerate",
                    onclick: () => this.regenerate(c) }, "New secret") : null,
                  h("button", { type: "button", class: "link danger delete", onclick: () => this.remove(c) },
                    "Delete"))))))),
      ];
    }
    openForm(client) {
      this.state.form = client ? { id: client.id, name: client.name,
        redirect: (client.redirect_uris || []).join(", ") } : { id: null, name: "", redirect: "", confidential: true };
      this.state.errors = {}; this.state.error = ""; this.state.shown = null;
      this.render();
      const input = this.shadowRoot.querySelector('input[name="name"]');
      if (input) input.focus();
    }
    formView() {
      const f = this.state.form;
      const sync = (key) => (event) => { f[key] = event.target.type === "checkbox" ? event.target.checked : event.target.value; };
      return h("form", { class: f.id ? "edit-form" : "create-form", novalidate: true, onsubmit: (event) => {
        event.preventDefault(); this.save();
      } },
        h("label", {}, "Name", h("input", { type: "text", name: "name", value: f.name, maxlength: 255,
          "aria-invalid": this.invalid("name"), oninput: sync("name") }), this.fieldErrors("name")),
        h("label", {}, "Redirect URIs",
          h("span", { class: "hint" }, "Where users are sent back after authorizing; separate several with commas."),
          h("input", { type: "text", name: "redirect_uris", value: f.redirect,
            "aria-invalid": this.invalid("redirect_uris"), oninput: sync("redirect") }),
          this.fieldErrors("redirect_uris")),
        f.id ? null : h("label", { class: "check" }, h("input", { type: "checkbox", name: "confidential",
          checked: f.confidential, onchange: sync("confidential") }),
          "Confidential (has a secret; uncheck for single-page and mobile apps using PKCE)"),
        this.fieldErrors("confidential"),
        h("div", { class: "actions" },
          h("button", { type: "submit", class: "primary save", disabled: this.state.busy }, f.id ? "Save" : "Create"),
          h("button", { type: "button", class: "cancel", onclick: () => { this.state.form = null; this.render(); } },
            "Cancel")));
    }
    async save() {
      const f = this.state.form;
      this.state.busy = true;
      try {
        if (f.id) {
          const client = await api("PUT", "/clients/" + encodeURIComponent(f.id),
            { name: f.name, redirect: f.redirect });
          this.emit("passport:client-updated", client);
        } else {
          const client = await api("POST", "/clients",
            { name: f.name, redirect: f.redirect, confidential: f.confidential });
          if (client.secret) this.state.shown = { title: "Client created.", id: client.id, secret: client.secret };
          this.emit("passport:client-created", { id: client.id, name: client.name });
        }
        this.state.form = null; this.state.errors = {}; this.state.busy = false;
        await this.refresh();
      } catch (error) { this.failure(error); }
    }
    async regenerate(client) {
      if (!window.confirm("Create a new secret for “" + client.name + "”? The current secret stops working at once.")) return;
      try {
        const result = await api("POST", "/clients/" + encodeURIComponent(client.id) + "/secret");
        this.state.shown = { title: "New secret created.", id: result.id, secret: result.secret };
        this.state.error = ""; this.render();
      } catch (error) { this.failure(error); }
    }
    async remove(client) {
      if (!window.confirm("Delete “" + client.name + "”? Every token it holds is revoked.")) return;
      try {
        await api("DELETE", "/clients/" + encodeURIComponent(client.id));
        this.state.shown = null;
        this.emit("passport:client-deleted", { id: client.id });
        await this.refresh();
      } catch (error) { this.failure(error); }
    }
  }

  class PassportAuthorizedClients extends PassportElement {
    async refresh() {
      try { this.state.tokens = await api("GET", "/tokens"); this.state.error = ""; }
      catch (error) { this.state.error = error.message; this.state.tokens = []; }
      this.state.loading = false;
      this.render();
    }
    view() {
      const s = this.state;
      return [
        h("header", {}, h("h2", {}, "Authorized Applications")),
        this.errorLine(),
        s.loading ? h("p", { class: "muted" }, "Loading…")
          : !s.tokens.length ? h("p", { class: "empty" }, "You have not authorized any applications.")
            : h("table", {},
              h("thead", {}, h("tr", {}, h("th", {}, "Application"), h("th", {}, "Scopes"), h("th", {}, ""))),
              h("tbody", {}, s.tokens.map((t) => h("tr", { "data-id": t.id },
                h("td", { class: "name" }, t.client ? t.client.name : t.client_id,
                  t.client && t.client.metadata_document_url
                    ? h("span", { class: "muted document", title: "Client ID metadata document: " + t.client.metadata_document_url },
                      " (" + new URL(t.client.metadata_document_url).host + ")")
                    : t.client && t.client.registered
                      ? h("span", { class: "muted registered", title: "Registered itself (RFC 7591)" }, " (registered)") : null),
                h("td", { class: "scopes" }, (t.scopes || []).join(", ") || h("span", { class: "muted" }, "none")),
                h("td", {}, h("button", { type: "button", class: "link danger revoke",
                  onclick: () => this.revoke(t) }, "Revoke")))))),
      ];
    }
    async revoke(token) {
      const name = token.client ? token.client.name : "this application";
      if (!window.confirm("Revoke access for “" + name + "”?")) return;
      try {
        await api("DELETE", "/tokens/" + encodeURIComponent(token.id));
        this.emit("passport:token-revoked", { id: token.id });
        await this.refresh();
      } catch (error) { this.failure(error); }
    }
  }

  class PassportPersonalAccessTokens extends PassportElement {
    async refresh() {
      try {
        const [tokens, scopes] = await Promise.all([api("GET", "/personal-access-tokens"), api("GET", "/scopes")]);
        this.state.tokens = tokens; this.state.scopes = scopes; this.state.error = "";
      } catch (error) { this.state.error = error.message; this.state.tokens = []; this.state.scopes = []; }
      this.state.loading = false;
      this.render();
    }
    view() {
      const s = this.state;
      return [
        h("header", {}, h("h2", {}, "Personal Access Tokens"),
          h("button", { type: "button", class: "primary create", onclick: () => this.openForm() },
            "Create New Token")),
        this.errorLine(),
        s.shown ? this.showOnce("Personal access token created.", "Token:", s.shown.token) : null,
        s.form ? this.formView() : null,
        s.loading ? h("p", { class: "muted" }, "Loading…")
          : !s.tokens.length ? h("p", { class: "empty" }, "You have not created any personal access tokens.")
            : h("table", {},
              h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Scopes"), h("th", {}, "Expires"),
                h("th", {}, ""))),
              h("tbody", {}, s.tokens.map((t) => h("tr", { "data-id": t.id },
                h("td", { class: "name" }, t.name),
                h("td", { class: "scopes" }, (t.scopes || []).join(", ") || h("span", { class: "muted" }, "none")),
                h("td", { class: "muted" }, t.expires_at ? new Date(t.expires_at).toLocaleDateString() : ""),
                h("td", {}, h("button", { type: "button", class: "link danger delete",
                  onclick: () => this.remove(t) }, "Delete")))))),
      ];
    }
    openForm() {
      this.state.form = { name: "", scopes: [] };
      this.state.errors = {}; this.state.error = ""; this.state.shown = null;
      this.render();
      const input = this.shadowRoot.querySelector('input[name="name"]');
      if (input) input.focus();
    }
    formView() {
      const f = this.state.form;
      const toggle = (id) => (event) => {
        f.scopes = event.target.checked ? [...f.scopes, id] : f.scopes.filter((s) => s !== id);
      };
      return h("form", { class: "create-form", novalidate: true, onsubmit: (event) => {
        event.preventDefault(); this.save();
      } },
        h("label", {}, "Name", h("input", { type: "text", name: "name", value: f.name, maxlength: 255,
          "aria-invalid": this.invalid("name"), oninput: (event) => { f.name = event.target.value; } }),
          this.fieldErrors("name")),
        this.state.scopes.length ? h("fieldset", {}, h("legend", {}, "Scopes"),
          this.state.scopes.map((scope) => h("label", { class: "check" },
            h("input", { type: "checkbox", name: "scopes", value: scope.id, checked: f.scopes.includes(scope.id),
              onchange: toggle(scope.id) }), h("code", {}, scope.id), " ", h("span", { class: "muted" }, scope.description))),
          this.fieldErrors("scopes")) : null,
        h("div", { class: "actions" },
          h("button", { type: "submit", class: "primary save", disabled: this.state.busy }, "Create"),
          h("button", { type: "button", class: "cancel", onclick: () => { this.state.form = null; this.render(); } },
            "Cancel")));
    }
    async save() {
      const f = this.state.form;
      this.state.busy = true;
      try {
        const result = await api("POST", "/personal-access-tokens", { name: f.name, scopes: f.scopes });
        this.state.shown = { token: result.accessToken };
        this.state.form = null; this.state.errors = {}; this.state.busy = false;
        this.emit("passport:token-created", result.token);
        await this.refresh();
      } catch (error) { this.failure(error); }
    }
    async remove(token) {
      if (!window.confirm("Delete the token “" + token.name + "”? Anything using it loses access.")) return;
      try {
        await api("DELETE", "/personal-access-tokens/" + encodeURIComponent(token.id));
        this.state.shown = null;
        this.emit("passport:token-revoked", { id: token.id });
        await this.refresh();
      } catch (error) { this.failure(error); }
    }
  }

  const define = (name, cls) => { if (!customElements.get(name)) customElements.define(name, cls); };
  define("passport-clients", PassportClients);
  define("passport-authorized-clients", PassportAuthorizedClients);
  define("passport-personal-access-tokens", PassportPersonalAccessTokens);
})();
