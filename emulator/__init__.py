"""chat-auth-emulator: the vendor side of chat visitor authentication, run locally.

Public surface:
    create_app(config=None)  -> the Starlette application (emulator.app)
    load_config(path=None)   -> the typed configuration (emulator.config)
    emulator.mint            -> helpers that mint brand tokens for offline work
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "create_app", "load_config"]


def __getattr__(name: str) -> Any:
    # Imported lazily so that `chat-emulator healthcheck` and `import emulator.core...` stay light.
    if name == "create_app":
        from emulator.app import create_app

        return create_app
    if name == "load_config":
        from emulator.config import load_config

        return load_config
    raise AttributeError(f"module 'emulator' has no attribute {name!r}")
