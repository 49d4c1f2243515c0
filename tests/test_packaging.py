from __future__ import annotations

import os
from pathlib import Path

import pytest

import nexus_shop


@pytest.mark.skipif(
    os.environ.get("NEXUS_SHOP_EXPECT_INSTALLED") != "1",
    reason="only under nox, which installs the package before testing it",
)
def test_the_suite_runs_against_the_installed_package() -> None:
    # nox installs a built wheel; the tests must not import the source tree by accident.
    assert "site-packages" in Path(nexus_shop.__file__).parts
    assert "src" not in Path(nexus_shop.__file__).parts


def test_the_version_is_defined_once() -> None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        assert version("nexus-shop") == nexus_shop.__version__
    except PackageNotFoundError:  # running from a source checkout without installing
        pytest.skip("nexus-shop is not installed")
