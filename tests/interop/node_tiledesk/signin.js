// Signs in with the official Tiledesk Node client, as a brand backend would:
//   TiledeskClient.customAuthentication(token, apikey, {APIURL}, callback)
// stdin: {"token": "...", "apikey": "...", "APIURL": "http://127.0.0.1:PORT/tiledesk/v3"}
// stdout: {"ok": true, "body": <the server's JSON>} or {"ok": false, "status": <HTTP status>, "data": <body>}
"use strict";

const { TiledeskClient } = require("@tiledesk/tiledesk-client");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const request = JSON.parse(input);
  TiledeskClient.customAuthentication(request.token, request.apikey, { APIURL: request.APIURL }, (err, body) => {
    if (err) {
      const response = err.response || err.http_response;
      const out = response
        ? { ok: false, status: response.status, data: response.data }
        : { ok: false, status: null, data: String(err.message || err) };
      process.stdout.write(JSON.stringify(out));
    } else {
      process.stdout.write(JSON.stringify({ ok: true, body }));
    }
  });
});
