"""Node for the interop tests: the binary, with a package directory's locked dependencies installed by `npm ci`.

Skips cleanly when node or npm is missing; under CI=true a failed `npm ci` fails the test instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CI = os.environ.get("CI") == "true"


def require_node(package_dir: Path, installed: Path, timeout: float = 300) -> str:
    """The node binary, after `npm ci` in ``package_dir`` unless ``installed`` (a file of the installed
    dependency) already exists."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("node and npm are not installed")
    if not installed.is_file():
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=package_dir,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            message = f"npm ci failed: {result.stderr[-2000:]}"
            if CI:
                pytest.fail(message)
            pytest.skip(message)
    return node
