"""The state every vendor shares: one clock, one journal, one opaque-token signer."""

from __future__ import annotations

from dataclasses import dataclass

from emulator.config import EmulatorSettings
from emulator.core.clock import Clock
from emulator.core.journal import Journal
from emulator.core.opaque import OpaqueTokens


@dataclass
class Runtime:
    settings: EmulatorSettings
    clock: Clock
    journal: Journal
    opaque: OpaqueTokens

    @classmethod
    def from_settings(cls, settings: EmulatorSettings, clock: Clock | None = None) -> Runtime:
        clock = clock or Clock()
        return cls(
            settings=settings,
            clock=clock,
            journal=Journal(clock, settings.journal_size, settings.journal_tokens),
            opaque=OpaqueTokens(settings.secret, clock),
        )

    def reset(self) -> None:
        """Clock back to real time and an empty journal (vendors reset their own runtime state)."""
        self.clock.reset()
        self.journal.clear()
