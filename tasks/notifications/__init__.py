"""Telling a person that an attempt needs attention: e-mail and per-team webhooks (the browser
notification is `static/js/notify.js`, fed by the team socket)."""
