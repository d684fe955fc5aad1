"""What only GCS does: how a `gcs` connection's token reaches gcsfs and Polars, and that a key
written into hygge.yml is refused. (Runs on the emulator, shared with S3 and Azure, are in
tests/test_object_stores.py, tests/test_cloud_contracts.py and tests/test_cloud_faults.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hygge.clouds.gcs import gcsfs_options, polars_options
from hygge.config.connection_models import GcsConnection
from hygge.errors import ConfigError
from tests.conftest import ProjectMaker

KEY = {"type": "service_account", "client_email": "x@p.iam", "private_key": "canary-7c1f"}


@pytest.fixture(scope="module")
def service_key() -> dict[str, str]:
    """A service account key Google's library accepts (a fresh RSA key; nothing asks Google)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {
        "type": "service_account",
        "project_id": "p",
        "private_key_id": "canary-7c1f-id",
        "private_key": pem,
        "client_email": "loader@p.iam.gserviceaccount.com",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


def connection(**fields: object) -> GcsConnection:
    return GcsConnection.model_validate({"type": "gcs", **fields})


def test_without_a_token_googles_default_chain_is_used() -> None:
    assert gcsfs_options(None)["token"] == "google_default"
    assert gcsfs_options(connection(project="p"))["token"] == "google_default"
    assert gcsfs_options(connection(project="p"))["project"] == "p"
    assert polars_options(None, "gs://b/x") is None  # Polars' own default chain


def test_a_json_key_is_parsed_and_a_file_is_passed_by_its_path(tmp_path: Path) -> None:
    keyed = connection(token=json.dumps(KEY))
    assert gcsfs_options(keyed)["token"] == KEY
    options = polars_options(keyed, "gs://b/x")
    assert options is not None and json.loads(options["google_service_account_key"]) == KEY

    file = tmp_path / "key.json"
    file.write_text(json.dumps(KEY))
    by_file = connection(token=str(file))
    assert gcsfs_options(by_file)["token"] == str(file)
    assert polars_options(by_file, "gs://b/x") == {"google_service_account": str(file)}


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("missing/key.json", "is no JSON key and names no existing file"),
        ("{not json", "is not valid JSON"),
    ],
)
def test_a_token_that_is_no_key_and_no_file_is_a_config_error(token: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as raised:
        gcsfs_options(connection(token=token))
    assert token not in str(raised.value)


def test_an_emulator_is_reached_anonymously_at_its_endpoint() -> None:
    local = connection(endpoint_url="http://127.0.0.1:4443", anonymous=True)
    assert gcsfs_options(local)["token"] == "anon"
    assert gcsfs_options(local)["endpoint_url"] == "http://127.0.0.1:4443"
    assert polars_options(local, "gs://b/x") == {
        "google_base_url": "http://127.0.0.1:4443",
        "google_skip_signature": "true",
        "allow_http": "true",
    }


def test_a_token_and_anonymous_together_are_refused() -> None:
    with pytest.raises(ValueError, match="a token or anonymous, not both"):
        connection(token="key.json", anonymous=True)


def test_a_json_key_written_into_hygge_yml_is_refused(
    make_project: ProjectMaker, hygge_cli
) -> None:
    key = json.dumps(KEY).replace('"', "'")
    root = make_project(
        {"hygge.yml": f'name: t\nconnections:\n  lake:\n    type: gcs\n    token: "{key}"\n'}
    )
    result = hygge_cli("go", cwd=root)
    assert result.exit_code == 2, result.output
    assert "'connections.lake.token' holds a secret" in result.stderr
    assert "${LAKE_TOKEN}" in result.stderr
    assert "canary-7c1f" not in result.output


def test_a_key_file_path_and_a_key_from_the_environment_are_accepted(
    service_key: dict[str, str],
    make_project: ProjectMaker,
    hygge_cli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Planned only (--dry-run): gcsfs loads the key, no request is made, and no part of the
    key is shown."""
    monkeypatch.setenv("GCS_KEY", json.dumps(service_key))
    flow = (
        "home: {type: parquet, path: data}\nstore: {type: parquet, connection: c, path: gs://b/x}\n"
    )
    for token in ("sa.json", "${GCS_KEY}"):
        root = make_project(
            {
                "hygge.yml": f'name: t\nconnections:\n  c: {{type: gcs, token: "{token}"}}\n',
                "flows/f/flow.yml": flow,
                "sa.json": json.dumps(service_key),
            }
        )
        (root / "data").mkdir(exist_ok=True)
        monkeypatch.chdir(root)
        result = hygge_cli("go", "--dry-run", cwd=root)
        assert result.exit_code == 0, result.output
        assert "canary-7c1f" not in result.output


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (None, "no token is given and Google's default chain found none"),
        ('{"type": "service_account", "private_key": "canary-7c1f"}', "not a key Google accepts"),
    ],
)
def test_credentials_gcsfs_cannot_load_stop_the_plan_naming_the_path(
    token: str | None,
    message: str,
    make_project: ProjectMaker,
    hygge_cli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Exit 2 before anything runs, no traceback; the default chain finds nothing here (no
    GOOGLE_APPLICATION_CREDENTIALS, no gcloud login, no metadata server on loopback)."""
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", "/nonexistent")
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")
    monkeypatch.setenv("GCS_KEY", token or "")
    fields = 'type: gcs, token: "${GCS_KEY}"' if token else "type: gcs"
    root = make_project(
        {
            "hygge.yml": f"name: t\nconnections:\n  c: {{{fields}}}\n",
            "flows/f/flow.yml": "home: {type: parquet, path: data}\n"
            "store: {type: parquet, connection: c, path: gs://b/x}\n",
        }
    )
    (root / "data").mkdir()
    result = hygge_cli("go", cwd=root)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "gs://b/x" in result.stderr
    assert "Traceback" not in result.output and "canary-7c1f" not in result.output
