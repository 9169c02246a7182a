"""Tiledesk's answers, verbatim, with their source: the open-source tiledesk-server 2.19 (research §A).

passport's failure is the plain text of the status code: ``Unauthorized``, no JSON. Sign-in (jwt strategy alone)
sends no WWW-Authenticate; keys/generate (basic then jwt) sends Basic's challenge.
"""

from __future__ import annotations

UNAUTHORIZED_TEXT = "Unauthorized"  # passport allFailed(): res.end(http.STATUS_CODES[401])
AUD_REQUIRED = {"success": False, "msg": "JWT Aud field is required"}  # routes/auth.js
VALIDTOKEN_UNAUTHORIZED = {"success": False, "msg": "Unauthorized."}  # middleware/valid-token.js, 403
PROJECT_USER_NOT_ACTIVE = {"success": False, "msg": "Authentication failed. Project_user not active."}  # 401
PROJECT_NOT_FOUND = {"success": False, "msg": "Project not found"}  # routes/key.js, 404
NOT_IN_PROJECT = {"success": False, "msg": "you dont belong to the project."}  # middleware/has-role.js, 403
ROLE_REQUIRED = {"success": False, "msg": "you dont have the required role."}  # middleware/has-role.js, 403
BAD_REQUEST_TEXT = "Bad Request"  # passport allFailed() when passport-http failed with 400
