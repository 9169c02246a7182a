"""Tiledesk's endpoints, under /tiledesk and on Host api.tiledesk.com, each also under /v3 (the official client's
default API URL is https://api.tiledesk.com/v3).

    POST /auth/signinWithCustomToken              Authorization: JWT <token> (any body)
    POST /chat21/native/auth/createCustomToken    the widget's next call: re-verifies the same token
    POST /{projectId}/keys/generate               project admin (HTTP Basic): a new shared secret, shown once
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from emulator.core.http import BodyTooLarge, media_type, parse_json, read_body, with_diagnosis
from emulator.core.journal import Note, note_of
from emulator.vendors.tiledesk import errors
from emulator.vendors.tiledesk.checks import UNAUTHORIZED, Answer
from emulator.vendors.tiledesk.service import BASIC_CHALLENGE, SignIn, TiledeskService

_BODY_LIMIT = 64 * 1024


def answer(note: Note, refusal: Answer, check: str, message: str, remedy: str = "") -> Response:
    """The server's refusal (plain text with no Content-Type, as passport writes it, or its JSON), and the
    diagnosis beside it."""
    note.outcome, note.failed_check, note.summary = "rejected", check, f"{check}: {message}"
    if isinstance(refusal.body, str):
        response = Response(refusal.body, status_code=refusal.status)
        del response.headers["content-type"]
    else:
        response = JSONResponse(refusal.body, status_code=refusal.status)
    return with_diagnosis(response, note.summary + (f" | remedy: {remedy}" if remedy else ""))


class TiledeskRoutes:
    def __init__(self, service: TiledeskService) -> None:
        self.service = service

    def routes(self) -> list[BaseRoute]:
        routes: list[BaseRoute] = []
        for prefix in ("", "/v3"):
            routes += [
                Route(prefix + "/auth/signinWithCustomToken", self.sign_in, methods=["POST"]),
                Route(prefix + "/chat21/native/auth/createCustomToken", self.chat21_token, methods=["POST"]),
                Route(prefix + "/{project_id}/keys/generate", self.generate, methods=["POST"]),
            ]
        return routes

    async def _verified(self, request: Request, note: Note) -> SignIn:
        body_id_project = None
        try:
            raw = await read_body(request, _BODY_LIMIT)
        except BodyTooLarge:
            raw = b""
        if media_type(request) == "application/json" and raw.strip():
            try:
                body = parse_json(raw)
            except ValueError:
                body = None
            if isinstance(body, dict) and isinstance(body.get("id_project"), str):
                body_id_project = body["id_project"]
        verified = self.service.verify(
            request.headers.get("authorization"),
            request.query_params.get("secret_token"),
            body_id_project or request.query_params.get("id_project"),
            body_id_project,
        )
        ctx = verified.context
        note.token = ctx.token or None
        note.tenant = ctx.project_id
        note.trace = {
            **verified.trace.to_dict(),
            "profile": ctx.profile,
            "claims": ctx.claims or ctx.unverified or None,
        }
        return verified

    @staticmethod
    def _refused(note: Note, verified: SignIn) -> Response:
        failed, trace = verified.trace.failed, verified.trace
        assert failed is not None and trace.error is not None
        return answer(note, trace.error, failed.name, failed.message, failed.remedy)

    async def sign_in(self, request: Request) -> Response:
        note = note_of(request.scope)
        note.operation = "signinWithCustomToken"
        verified = await self._verified(request, note)
        if not verified.trace.ok:
            return self._refused(note, verified)
        body = self.service.sign_in(verified)
        note.outcome = "accepted"
        note.summary = (
            f"{verified.context.profile} profile: signed in {body['user'].get('_id') or body['user'].get('email')!r}"
        )
        return JSONResponse(body)

    async def chat21_token(self, request: Request) -> Response:
        note = note_of(request.scope)
        note.operation = "createCustomToken"
        verified = await self._verified(request, note)
        if not verified.trace.ok:
            return self._refused(note, verified)
        ctx = verified.context
        sub = ctx.claims.get("sub")
        if not ctx.documented and sub not in ("userexternal", "guest"):
            return answer(
                note,
                UNAUTHORIZED,
                "sub_userexternal",
                f"sub is {sub!r}: for any sub but 'userexternal' or 'guest' the server looks the user up among its own "
                "(dashboard) users, and finds none",
                "Put sub: 'userexternal' in the token",
            )
        note.outcome, note.summary = "accepted", "chat21 token issued (the visitor's token still verifies)"
        return JSONResponse(self.service.chat21_token(ctx))

    async def generate(self, request: Request) -> Response:
        """[CODE] app.js: /:projectid/keys behind passport.authenticate(['basic','jwt']), validtoken and
        roleChecker.hasRole('agent'); routes/key.js then writes a new secret."""
        note = note_of(request.scope)
        note.operation = "keys/generate"
        project_id = note.tenant = request.path_params["project_id"]
        header = request.headers.get("authorization")
        caller = self.service.authenticate(header, request.query_params.get("secret_token"))
        if caller.refusal is not None:
            note.details = {"username": caller.username} if caller.username else None  # never the password
            response = answer(note, caller.refusal, "credentials", caller.why, caller.remedy)
            if caller.refusal.status == 401:  # passport: each failed strategy's string challenge (only Basic has one)
                response.headers["WWW-Authenticate"] = BASIC_CHALLENGE
            return response
        note.details = {"username": caller.username, "via": caller.via}
        if len((header or "").split(" ")) != 2:  # middleware/valid-token.js
            return answer(
                note,
                Answer(403, errors.VALIDTOKEN_UNAUTHORIZED),
                "header_parts",
                "the Authorization header does not split into exactly two parts on a space",
                "Authorization: Basic <base64> (or JWT <token>)",
            )
        refusal = self.service.role_refusal(caller, project_id)
        if refusal is not None:
            return answer(note, refusal.answer, "project_role", refusal.why, refusal.remedy)
        project = self.service.state.projects.get(project_id)
        if project is None:  # a visitor signed into an unregistered id_project (generic aud) with an agent role
            return answer(note, Answer(404, errors.PROJECT_NOT_FOUND), "project_known", f"no project {project_id}")
        rotated = project.jwt_secret is not None
        body = self.service.generate_secret(project)
        note.outcome = "accepted"
        note.summary = (
            "shared secret regenerated: every token signed with the previous one now fails"
            if rotated
            else "shared secret generated"
        )
        return JSONResponse(body, headers={"Cache-Control": "no-store"})
