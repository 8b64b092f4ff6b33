/* The dashboard's API demo: call /api/user with the API cookie, with and without the page's
   CSRF token in X-CSRF-Token. A file rather than an inline script, so the page works under a
   Content-Security-Policy without 'unsafe-inline'. */
(() => {
  "use strict";
  const section = document.getElementById("cookie-demo");
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const out = document.getElementById("api-result");
  async function call(withHeader) {
    const headers = withHeader ? { "X-CSRF-Token": token } : {};
    const response = await fetch(section.dataset.apiUrl, { credentials: "same-origin", headers });
    out.textContent = response.status + " " + JSON.stringify(await response.json());
  }
  document.getElementById("call-api").addEventListener("click", () => call(true));
  document.getElementById("call-api-without-csrf").addEventListener("click", () => call(false));
})();
