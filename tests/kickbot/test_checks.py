"""Production system checks: a missing static manifest and wildcard hosts are reported, not served."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from kickbot.checks import check_allowed_hosts, check_static_manifest, check_trusted_proxy_hops

MANIFEST_STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
}


@pytest.fixture
def manifest_storage(settings: Any, tmp_path: Path) -> Path:
    settings.STATIC_ROOT = tmp_path / "staticfiles"
    settings.STORAGES = MANIFEST_STORAGES
    return Path(settings.STATIC_ROOT)


def test_a_missing_manifest_fails_the_deploy_check(manifest_storage: Path) -> None:
    [error] = check_static_manifest()
    assert error.id == "kickbot.E001" and "collectstatic" in error.msg
    with pytest.raises(SystemCheckError, match=r"kickbot\.E001"):
        call_command("check", deploy=True)


def test_collected_static_files_pass_the_check(manifest_storage: Path) -> None:
    call_command("collectstatic", interactive=False, verbosity=0)
    assert check_static_manifest() == []


def test_a_static_file_added_after_collectstatic_is_reported(manifest_storage: Path) -> None:
    call_command("collectstatic", interactive=False, verbosity=0)
    manifest = manifest_storage / "staticfiles.json"
    manifest.write_text(manifest.read_text().replace('"css/app.css"', '"css/gone.css"'))
    [error] = check_static_manifest()
    assert "css/app.css" in error.msg


def test_without_manifest_storage_there_is_nothing_to_check() -> None:
    assert check_static_manifest() == []  # tests run with plain storage (local mode)


def test_wildcard_allowed_hosts_warns_in_check_deploy(settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["bot.example.com", "*"]
    [warning] = check_allowed_hosts()
    assert warning.id == "kickbot.W001"
    with pytest.raises(SystemCheckError, match=r"kickbot\.W001"):
        call_command("check", deploy=True, fail_level="WARNING")


def test_named_allowed_hosts_pass(settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["bot.example.com"]
    assert check_allowed_hosts() == []


def test_production_without_a_trusted_proxy_hop_warns(settings: Any) -> None:
    settings.IS_PRODUCTION, settings.TRUSTED_PROXY_HOPS = True, 0
    [warning] = check_trusted_proxy_hops()
    assert warning.id == "kickbot.W002"
    settings.TRUSTED_PROXY_HOPS = 1
    assert check_trusted_proxy_hops() == []
