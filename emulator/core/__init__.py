"""What every vendor shares: clock, keys, JOSE helpers, checks, journal, opaque tokens, HTTP helpers."""
