"""How hygge signs in to SQL Server: an `mssql://` URL as mssql-python's connection string.

The URL carries what a hygge.yml connection says (`hygge.connections.connection_url` writes
its fields as query parameters): `mssql://user:password@host:port/database?authentication=
ActiveDirectoryServicePrincipal&tenant_id=...&client_id=...&client_secret=...&encrypt=yes
&trust_server_certificate=no&login_timeout=15&query_timeout=0`. Sign-in modes:

- `sql` (the default): the URL's user and password.
- `ActiveDirectoryDefault`: azure-identity's default chain (environment, workload or managed
  identity, `az login`), asked by the driver.
- `ActiveDirectoryManagedIdentity` (or `ActiveDirectoryMSI`): the machine's managed identity;
  a user-assigned one is named by `client_id`.
- `ActiveDirectoryServicePrincipal`: `tenant_id`, `client_id` and `client_secret`. The driver
  alone would learn the tenant from the server; hygge signs in with azure-identity's
  `ClientSecretCredential` for the tenant given, which the driver also uses for bulk copies.

Every value is written in {braces} (a `}` inside doubled), so no value can end its key early.
A `Login` never shows its connection string: it holds the password.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

PORT = 1433
SQL = "sql"
_MODES = {
    "sql": SQL,
    "activedirectorydefault": "ActiveDirectoryDefault",
    "activedirectorymanagedidentity": "ActiveDirectoryMSI",
    "activedirectorymsi": "ActiveDirectoryMSI",
    "activedirectoryserviceprincipal": "ActiveDirectoryServicePrincipal",
}
MODES = ("sql", "ActiveDirectoryDefault", "ActiveDirectoryManagedIdentity",
         "ActiveDirectoryServicePrincipal")  # fmt: skip
OPTIONS = ("authentication", "tenant_id", "client_id", "client_secret", "encrypt",
           "trust_server_certificate", "login_timeout", "query_timeout")  # fmt: skip
_ENCRYPT = {"yes": "yes", "true": "yes", "mandatory": "yes", "no": "no", "false": "no",
            "optional": "no", "strict": "strict"}  # fmt: skip
_FLAGS = {"yes": "yes", "true": "yes", "no": "no", "false": "no"}
DEFAULT_LOGIN_TIMEOUT = 15  # seconds


@dataclass(frozen=True)
class Login:
    """What `mssql_python.connect` is given for one URL."""

    text: str = field(repr=False)  # the connection string: holds the password
    login_timeout: int
    query_timeout: int  # seconds a statement may run; 0: no limit
    service_principal: tuple[str, str, str] | None = field(default=None, repr=False)

    def credential(self) -> Any:
        """The service principal's credential (the driver's token provider), else None."""
        if self.service_principal is None:
            return None
        from azure.identity import ClientSecretCredential

        return ClientSecretCredential(*self.service_principal)


def braced(value: str) -> str:
    """value as an ODBC connection string value: in braces, a `}` inside doubled."""
    return "{" + value.replace("}", "}}") + "}"


def login(url: str) -> Login:
    """The sign-in a URL describes; ValueError naming the option when it cannot be one."""
    parts = urlsplit(url)
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} in the url: known are {list(OPTIONS)}")
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    mode = _choice("authentication", options.get("authentication", SQL), _MODES, MODES)
    pairs = [
        ("Server", f"tcp:{parts.hostname or 'localhost'},{parts.port or PORT}"),
        ("Database", unquote(parts.path.lstrip("/"))),
        ("Encrypt", _choice("encrypt", options.get("encrypt", "yes"), _ENCRYPT, _ENCRYPT)),
        ("TrustServerCertificate", _choice(
            "trust_server_certificate", options.get("trust_server_certificate", "no"),
            _FLAGS, _FLAGS)),
    ]  # fmt: skip
    pairs += _sign_in(mode, user, password, options)
    principal = None
    if mode == "ActiveDirectoryServicePrincipal":
        principal = (options["tenant_id"], options["client_id"], options["client_secret"])
    return Login(
        text=";".join(f"{key}={braced(value)}" for key, value in pairs if value),
        login_timeout=_seconds(options, "login_timeout", DEFAULT_LOGIN_TIMEOUT),
        query_timeout=_seconds(options, "query_timeout", 0),
        service_principal=principal,
    )


def _sign_in(mode: str, user: str, password: str, options: dict[str, str]) -> list[tuple[str, str]]:
    """The connection string's sign-in keys for mode; the checks each mode needs."""
    if mode == SQL:
        if not user:
            raise ValueError("authentication sql needs a user (and its password)")
        return [("UID", user), ("PWD", password)]
    if user or password:
        raise ValueError(f"authentication {mode} takes no user or password: leave them out")
    if mode == "ActiveDirectoryServicePrincipal":
        missing = [k for k in ("tenant_id", "client_id", "client_secret") if not options.get(k)]
        if missing:
            raise ValueError(f"authentication {mode} needs {', '.join(missing)}")
        return []  # signed in by its credential (Login.credential)
    if mode == "ActiveDirectoryMSI":
        return [("Authentication", mode), ("UID", options.get("client_id", ""))]
    return [("Authentication", mode)]


def _choice(key: str, value: str, known: dict[str, str], shown: Any) -> str:
    try:
        return known[value.strip().lower()]
    except KeyError:
        raise ValueError(f"{key} {value!r} is not one of {list(shown)}") from None


def _seconds(options: dict[str, str], key: str, default: int) -> int:
    raw = options.get(key)
    if raw is None:
        return default
    if not raw.isdigit():
        raise ValueError(f"{key} {raw!r} is not a whole number of seconds")
    return int(raw)
