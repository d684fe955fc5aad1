"""How hygge signs in to SQL Server, per authentication mode, without a server.

The connection string each mode builds is checked as text and then by mssql-python's own
connection string parser (which refuses an unknown key), and a hygge.yml connection's fields
are followed through planning's URL into it. Refusals name the option; a service principal's
secret never shows in an error.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mssql_python.connection_string_parser import _ConnectionStringParser
from pydantic import ValidationError

from hygge.config.connection_models import Connection
from hygge.connections import connection_url
from hygge.engines._mssql_login import login
from hygge.homes.mssql import MsSqlHome
from hygge.redact import redact, remember_url
from tests.test_contracts import home

BASE = "mssql://db.example:1433/shop"


def parsed(text: str) -> dict[str, str]:
    """The connection string as the driver reads it (refusing unknown keys)."""
    return dict(_ConnectionStringParser(validate_keywords=True)._parse(text))


def test_sql_authentication_sends_user_and_password_in_braces() -> None:
    made = login("mssql://app:pa%3Bss%7Dword@db.example:1433/shop")
    assert made.text == (
        "Server={tcp:db.example,1433};Database={shop};Encrypt={yes};"
        "TrustServerCertificate={no};UID={app};PWD={pa;ss}}word}"
    )
    assert parsed(made.text)["pwd"] == "pa;ss}word"
    assert (made.login_timeout, made.query_timeout, made.credential()) == (15, 0, None)
    assert "pa;ss" not in repr(made)


def test_active_directory_default_and_managed_identity_ask_the_driver() -> None:
    default = login(f"{BASE}?authentication=ActiveDirectoryDefault")
    assert parsed(default.text)["authentication"] == "ActiveDirectoryDefault"
    assert "uid" not in parsed(default.text)
    system = login(f"{BASE}?authentication=activedirectorymanagedidentity")
    assert parsed(system.text)["authentication"] == "ActiveDirectoryMSI"
    assigned = login(f"{BASE}?authentication=ActiveDirectoryMSI&client_id=abc-123")
    assert parsed(assigned.text)["uid"] == "abc-123"


def test_a_service_principal_signs_in_with_a_credential_for_its_tenant() -> None:
    from azure.identity import ClientSecretCredential

    made = login(
        f"{BASE}?authentication=ActiveDirectoryServicePrincipal&tenant_id=t-1&client_id=c-1"
        "&client_secret=Canary-sp-secret&encrypt=strict&trust_server_certificate=yes"
        "&login_timeout=5&query_timeout=600"
    )
    assert "Canary-sp-secret" not in made.text and "authentication" not in parsed(made.text)
    assert parsed(made.text)["encrypt"] == "strict"
    assert parsed(made.text)["trustservercertificate"] == "yes"
    assert (made.login_timeout, made.query_timeout) == (5, 600)
    assert isinstance(made.credential(), ClientSecretCredential)
    assert "Canary-sp-secret" not in repr(made)


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("?authentication=kerberos", "authentication 'kerberos'"),
        ("?authentication=ActiveDirectoryServicePrincipal&client_id=c", "tenant_id, client_secret"),
        ("?encrypt=maybe", "encrypt 'maybe'"),
        ("?login_timeout=soon", "login_timeout 'soon'"),
        ("?sslmode=require", "sslmode"),
    ],
)
def test_a_bad_option_is_refused_when_the_config_loads_naming_it(query: str, named: str) -> None:
    url = f"mssql://app:pw@db.example/shop{query}"
    if "authentication" in query:
        url = f"{BASE}{query}"
    with pytest.raises(ValidationError, match=named):
        MsSqlHome.Config.model_validate({"type": "mssql", "url": url, "table": "dbo.t"})


def test_sql_authentication_needs_a_user_and_entra_modes_take_none() -> None:
    with pytest.raises(ValueError, match="needs a user"):
        login(BASE)
    with pytest.raises(ValueError, match="takes no user or password"):
        login("mssql://app:pw@db.example/shop?authentication=ActiveDirectoryDefault")


def test_a_hygge_yml_connection_reaches_the_driver_through_its_url(tmp_path: Path) -> None:
    connection = Connection(
        type="mssql", host="srv.database.windows.net", database="shop",
        authentication="ActiveDirectoryServicePrincipal", tenant_id="t-1", client_id="c-1",
        client_secret="Canary/sp&secret", encrypt=True, trust_server_certificate=False,
        login_timeout=30, query_timeout=0,
    )  # fmt: skip
    url = connection_url(connection)
    made = login(url)
    assert made.service_principal == ("t-1", "c-1", "Canary/sp&secret")
    assert parsed(made.text)["server"] == "tcp:srv.database.windows.net,1433"
    assert made.login_timeout == 30
    remember_url(url)
    assert "Canary" not in redact(f"could not sign in to {url}")
    reader = home("mssql", tmp_path, url=url, table="dbo.orders")
    assert isinstance(reader, MsSqlHome)
    assert "Canary" not in reader.describe()


def test_sql_server_options_on_another_engines_connection_are_refused() -> None:
    with pytest.raises(ValidationError, match="only a SQL Server connection"):
        Connection(type="postgres", host="db", authentication="ActiveDirectoryDefault")
