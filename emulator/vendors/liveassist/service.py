"""Live Assist logic: authenticate a visitor (code or implicit flow), start chats, expire and resume.

Pure of HTTP: routes.py reads requests and shapes answers; this module decides.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import Any

from emulator.core.checks import Trace
from emulator.core.keys import b64url
from emulator.core.runtime import Runtime
from emulator.vendors.liveassist.checks import PIPELINE, Context, context
from emulator.vendors.liveassist.config import LiveAssistSettings
from emulator.vendors.liveassist.sdes import attributes_from
from emulator.vendors.liveassist.state import Conversation, LiveAssistState


@dataclass
class Authentication:
    trace: Trace[dict[str, str]]
    context: Context
    conversation: Conversation | None = None
    participant_id: str | None = None
    resumed: bool = False

    def report(self) -> dict[str, Any]:
        ctx = self.context
        data = self.trace.to_dict()
        data["decoded"] = {
            "jweHeader": ctx.jwe.header if ctx.jwe else None,
            "jwsHeader": ctx.jws.header if ctx.jws else None,
            "claims": ctx.claims or None,
            "signedBy": ctx.signer.kid if ctx.signer else None,
        }
        if ctx.exchange_answer is not None:
            data["exchange"] = {
                "kind": ctx.exchange_answer.kind,
                "status": ctx.exchange_answer.status,
                "sent": ctx.exchange_answer.sent,
            }
        data["now"] = ctx.now
        return data


class LiveAssistService:
    def __init__(self, settings: LiveAssistSettings, state: LiveAssistState, runtime: Runtime) -> None:
        self.settings = settings
        self.state = state
        self.runtime = runtime

    # -- PKCE: the service generates the code_verifier and gives the page only its challenge ------------------------
    def code_verifier(self, account_id: str, session_id: str) -> str:
        """Derived from the emulator secret, the account and the visitor's LETagSessionId (stateless, stable)."""
        secret = self.runtime.settings.secret.encode()
        digest = hmac.new(secret, f"liveassist-pkce:{account_id}:{session_id}".encode(), hashlib.sha256).digest()
        return b64url(digest)

    def code_challenge(self, account_id: str, session_id: str) -> str:
        verifier = self.code_verifier(account_id, session_id).encode("ascii")
        return b64url(hashlib.sha256(verifier).digest())

    # -- visitor authentication -------------------------------------------------------------------------------
    async def verify(self, account_id: str, sso_key: Any, *, exchange: bool = True, **request: Any) -> Authentication:
        session = request.get("session_id")
        verifier = self.code_verifier(account_id, session) if isinstance(session, str) and session else None
        ctx = context(
            self.settings,
            self.state,
            self.runtime,
            account_id,
            sso_key,
            redirect_uri=request.get("redirect_uri"),
            code_verifier=verifier,
            exchange=exchange,
        )
        if exchange and ctx.state.connectors.get(account_id) is not None and verifier is None:
            connector = ctx.state.connectors[account_id]
            if connector.flow == "code" and connector.pkce:
                ctx.warnings.append("PKCE is on but the request has no LETagSessionId: no code_verifier can be sent")
        return Authentication(await PIPELINE.run_async(ctx, ctx.warnings), ctx)

    def open_conversation(self, auth: Authentication, resume_id: Any) -> Authentication:
        """Create the authenticated conversation, or resume ``resume_id`` when it is the same consumer's."""
        ctx = auth.context
        assert auth.trace.ok and ctx.connector is not None
        sub = str(ctx.claims["sub"])
        attributes = attributes_from(ctx.claims)
        existing = self.state.conversations.get(resume_id) if isinstance(resume_id, str) else None
        if existing is not None and existing.account_id == ctx.account_id and existing.sub == sub:
            conversation, auth.resumed = existing, True
            conversation.claims, conversation.attributes = ctx.claims, attributes
            conversation.exp = float(ctx.claims["exp"])
            conversation.skew = ctx.connector.clock_skew
        else:
            if existing is not None and existing.account_id != ctx.account_id:
                ctx.warnings.append(
                    f"conversation {resume_id} belongs to account {existing.account_id}, not {ctx.account_id}: "
                    "a new conversation was started instead of resuming it"
                )
            elif existing is not None:
                ctx.warnings.append(
                    f"conversation {resume_id} belongs to sub {existing.sub!r}; this token is for {sub!r}: "
                    "a new conversation was started instead of resuming it"
                )
            elif resume_id is not None:
                ctx.warnings.append(f"conversation {resume_id!r} is unknown: a new conversation was started")
            conversation = Conversation(
                conversation_id=str(uuid.uuid4()),
                account_id=ctx.account_id,
                sub=sub,
                issuer=str(ctx.claims.get("iss")),
                flow=ctx.connector.flow,
                claims=ctx.claims,
                attributes=attributes,
                exp=float(ctx.claims["exp"]),
                skew=ctx.connector.clock_skew,
            )
            self.state.conversations[conversation.conversation_id] = conversation
        ctx.warnings.extend(f"{d['field']} dropped: {d['why']}" for d in attributes.dropped)
        participant = str(uuid.uuid4())
        conversation.participants.append(participant)
        self.state.participants[participant] = conversation.conversation_id
        conversation.history.append(
            {"at": ctx.now, "event": "resumed" if auth.resumed else "authenticated", "exp": conversation.exp}
        )
        auth.conversation, auth.participant_id = conversation, participant
        return auth

    def conversation_of(self, account_id: str, participant_id: Any, conversation_id: Any) -> Conversation | None:
        if not isinstance(participant_id, str) or not isinstance(conversation_id, str):
            return None
        if self.state.participants.get(participant_id) != conversation_id:
            return None
        conversation = self.state.conversations.get(conversation_id)
        return conversation if conversation is not None and conversation.account_id == account_id else None

    def start_chat(self, conversation: Conversation) -> str:
        chat_id = str(uuid.uuid4())
        conversation.chats.append(chat_id)
        self.state.chats[chat_id] = conversation.conversation_id
        return chat_id

    def conversation_of_chat(self, account_id: str, chat_id: str) -> Conversation | None:
        conversation = self.state.conversations.get(self.state.chats.get(chat_id, ""))
        return conversation if conversation is not None and conversation.account_id == account_id else None

    def account_of_chat(self, chat_id: str) -> str | None:
        """The account a chat was started at, whichever it is (None: no such chat)."""
        conversation = self.state.conversations.get(self.state.chats.get(chat_id, ""))
        return conversation.account_id if conversation is not None else None

    def agent_view(self, conversation: Conversation) -> dict[str, Any]:
        now = self.runtime.clock.now()
        expired = conversation.expired(now)
        return {
            "conversationId": conversation.conversation_id,
            "accountId": conversation.account_id,
            "flow": conversation.flow,
            "authenticated": not expired,
            "authenticationStatus": "expired" if expired else "authenticated",
            "expiresAt": conversation.exp,
            "acceptedUntil": conversation.exp + conversation.skew,
            "secureIcon": not expired,
            "issuer": conversation.issuer,
            "sub": conversation.sub,
            "secureAttributes": conversation.attributes.view(),
            "dropped": conversation.attributes.dropped,
            "claims": conversation.claims,
            "participants": conversation.participants,
            "chats": conversation.chats,
            "history": conversation.history,
        }
