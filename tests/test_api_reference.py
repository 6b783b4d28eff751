"""docs/api.md, the project's own API reference, keeps up with what the app serves."""

import re
from pathlib import Path

import pytest

from tapbank.config import SETTING_RANGES
from tapbank.database_errors import Retryable
from tapbank.domain_errors import DomainError
from tapbank.taps.reasons import Reason

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = (ROOT / "docs" / "api.md").read_text()


def documented_routes() -> set[tuple[str, str]]:
    """Every "### METHOD /path" heading, path parameters written as {}."""
    return {
        (method.lower(), re.sub(r"\{[^}]+\}", "{}", path))
        for method, path in re.findall(r"^### (GET|PUT|POST|PATCH|DELETE) (/\S+)", REFERENCE, re.M)
    }


def test_every_route_in_the_openapi_document_has_its_section(client):
    served = {
        (method, re.sub(r"\{[^}]+\}", "{}", path))
        for path, operations in client.get("/api/openapi.json").json["paths"].items()
        for method in operations
        if method != "parameters"
    }
    assert served - documented_routes() == set()


@pytest.mark.parametrize("reason", list(Reason), ids=str)
def test_every_failure_reason_is_in_the_reference(reason):
    assert f"`{reason.value}`" in REFERENCE


@pytest.mark.parametrize("error", DomainError.__subclasses__(), ids=lambda e: e.__name__)
def test_every_domain_error_code_is_in_the_reference(error):
    assert f"`{error.error_code}`" in REFERENCE


@pytest.mark.parametrize("retryable", list(Retryable), ids=str)
def test_every_retryable_database_error_is_in_the_reference(retryable):
    assert f"`{retryable.value}`" in REFERENCE


@pytest.mark.parametrize("setting", [*SETTING_RANGES, "TAPBANK_DB_POOLER"])
def test_every_ranged_setting_is_in_both_configuration_tables(setting):
    readme = (ROOT / "README.md").read_text()
    assert f"`{setting}`" in REFERENCE
    assert f"`{setting}`" in readme


def test_the_readme_points_at_the_reference_inside_the_repository():
    readme = (ROOT / "README.md").read_text()
    assert "docs/api.md" in readme
    assert "../shared" not in readme
