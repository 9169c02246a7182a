"""The /_emulator control plane: health, clock, journal, explain, reset, tenants, keys (and vendor extras)."""
