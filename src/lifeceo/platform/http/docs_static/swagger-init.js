// Starts Swagger UI on /docs. A file of ours rather than the inline script FastAPI's page uses:
// the pages' Content-Security-Policy runs no inline script. The page names the OpenAPI URL.
"use strict";
const root = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  // No request to the public validator service: the page works offline and leaks no spec.
  validatorUrl: null,
});
