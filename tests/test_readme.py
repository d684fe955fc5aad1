"""Every example in README.md stays runnable: a broken one fails here, named by its line.

What counts as an example:
- a ```yaml block, split into files at comment lines naming one (`# hygge.yml`,
  `# flows/shop/flow.yml`, `# flows/shop/entities/orders.yml`; no name: a flow.yml), parsed
  and expanded as hygge does (dummy values for `${VAR}`) and validated by the file's model;
  every home and store section with a `type` also by its plugin's config, after `{entity}`
  and `{flow}` are filled in and `connection: NAME` gets the URL of the README's connection
  of that name, as planning does;
- an inline code span that is a YAML mapping: keys of hygge.yml or flow.yml make a fragment
  of that file (`options: {exclusive: true}`, `home: {...}`), `{type: ...}` a section of a home
  and of a store, and any other key (`pool_size: 1`) must be a key of a connection, a
  watermark, a partition or some home or store;
- a line of a ```sh block, or an inline span, starting with `hygge ` or `make `: Click parses
  the command line without running it; a make target must be in the Makefile;
- an inline span starting with `-`: an option of `hygge go` (parsed with its value unless the
  value is a placeholder, written with a capital letter); a `--var` names a setting;
- a synopsis line of a bare ``` block (`hygge go [--flow F[:RT]]...`): each option exists on
  that command, taking a value exactly when the synopsis gives it one;
- a ```python block compiles, calls `hygge.run` with keywords it has, and runs against the
  project `hygge init` writes.
The table of settings names every setting and its built-in default. The README's
counter-examples (a password written into a file) must stay refused.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import io
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from pydantic import BaseModel, ValidationError

import hygge
from hygge.cli import main
from hygge.cli.scaffold import init_project
from hygge.config.connection_models import CLOUD_CONNECTIONS, Connection
from hygge.config.models import (
    BUILTIN_SETTINGS,
    SETTING_KEYS,
    EntityFile,
    FlowFile,
    ProjectFile,
    Settings,
    Watermark,
)
from hygge.config.variables import expand
from hygge.config.yamlfile import parse_yaml
from hygge.connections import with_connection_url
from hygge.errors import ConfigError
from hygge.homes._partition import Partition
from hygge.registry import Family, home_class, known_kinds, store_class

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
FILE_HEADER = re.compile(r"^#\s+(\S+\.yml)\s*$")
PLACEHOLDERS = {"{entity}": "orders", "{flow}": "shop"}  # an entity of a flow, as planned
PROJECT_KEYS = frozenset(ProjectFile.model_fields)
FLOW_KEYS = frozenset(FlowFile.model_fields)
REFUSED = {  # shown in the README as config errors: they must stay refused
    "password: hunter2": "holds a password written into the file",
    "url: postgresql://app:hunter2@db/shop": "holds a password written into the file",
}


@dataclass(frozen=True)
class Example:
    line: int  # in README.md
    kind: str
    text: str
    file: str = "flow.yml"  # for yaml: the file the block (part) shows
    inline: bool = False  # a code span in prose, not a fenced block


class DummyEnv(Mapping[str, str]):
    """Every `${VAR}` is set, to a value naming it."""

    def __getitem__(self, name: str) -> str:
        return f"readme-{name.lower()}"

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


# --- extraction ---------------------------------------------------------------------------


def extract(text: str) -> list[Example]:
    """The examples of a README text, in order."""
    lines = text.split("\n")
    prose: list[str] = []
    examples: list[Example] = []
    fence: tuple[int, str] | None = None  # (first line, language)
    body: list[str] = []
    for number, line in enumerate(lines, 1):
        if line.startswith("```"):
            if fence is None:
                fence, body = (number + 1, line[3:].strip()), []
            else:
                examples += _fenced(fence[0], fence[1], body)
                fence = None
            prose.append("")
        else:
            body.append(line)
            prose.append("" if fence else line)
    return sorted(examples + _inline("\n".join(prose)), key=lambda e: e.line)


def _fenced(first: int, language: str, body: list[str]) -> list[Example]:
    numbered = list(enumerate(body, first))
    if language == "yaml":
        return _yaml_parts(numbered)
    if language in ("sh", "console"):
        commands = [(n, line.removeprefix("$ ")) for n, line in numbered if line.strip()]
        return [Example(n, kind, c) for n, c in commands if (kind := _command_kind(c))]
    if language == "python":
        return [Example(first, "python", "\n".join(body))]
    if language == "":
        return _synopses(numbered)
    return []


def _yaml_parts(numbered: list[tuple[int, str]]) -> list[Example]:
    """A block holding several files (`# hygge.yml` ... `# flows/x/flow.yml` ...) in parts."""
    parts: list[Example] = []
    file, start = "flow.yml", numbered[0][0]
    chunk: list[str] = []
    for number, line in numbered:
        header = FILE_HEADER.match(line)
        if header and any(text.strip() for text in chunk):
            parts.append(Example(start, "yaml", "\n".join(chunk), file))
            chunk, start = [], number
        if header:
            file = header.group(1)
        chunk.append(line)
    parts.append(Example(start, "yaml", "\n".join(chunk), file))
    return parts


def _synopses(numbered: list[tuple[int, str]]) -> list[Example]:
    """`hygge CMD [options]   description` lines, with their `[`/`-` continuation lines."""
    found: list[Example] = []
    for number, line in numbered:
        head = re.split(r"(?<=\S)\s{2,}", line.strip(), maxsplit=1)[0]
        if line.startswith("hygge "):
            found.append(Example(number, "synopsis", head))
        elif found and line[:1].isspace() and line.strip()[:1] in ("[", "-"):
            last = found.pop()
            found.append(Example(last.line, "synopsis", f"{last.text} {head}"))
    return found


def valueless(option: click.Option) -> bool:
    """A flag, or a counted one like -v/-vv: written without a value."""
    return option.is_flag or option.count


def _inline(prose: str) -> list[Example]:
    found = []
    for match in re.finditer(r"`([^`]+)`", prose):
        text = " ".join(match.group(1).split())
        kind = _command_kind(text) or ("option" if text.startswith("-") else _yaml_kind(text))
        if kind:
            line = prose.count("\n", 0, match.start()) + 1
            found.append(Example(line, kind, text, inline=True))
    return found


def _command_kind(text: str) -> str | None:
    return next((word for word in ("hygge", "make") if text.startswith(word + " ")), None)


def _yaml_kind(text: str) -> str | None:
    """'config' (a fragment of hygge.yml or flow.yml), 'section' or 'keys'; None: no mapping."""
    if ": " not in text and not text.endswith(":"):
        return None  # `{entity}` is a placeholder, not a mapping
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    if not isinstance(data, dict) or not data:
        return None
    if set(data) <= PROJECT_KEYS | FLOW_KEYS:
        return "config"
    return "section" if "type" in data else "keys"


# --- yaml -------------------------------------------------------------------------------------


def load(example: Example) -> Any:
    """Parsed strictly and expanded as hygge loads a file (a literal password is refused);
    errors name the README's line."""
    text = "\n" * (example.line - 1) + example.text
    return expand(parse_yaml(text, README), DummyEnv()).data


def check_file(file: str, data: dict[str, Any]) -> None:
    """Validate data as (a fragment of) the file it is shown as, and its home/store sections."""
    if Path(file).name == "hygge.yml":
        ProjectFile.model_validate({"name": "readme", **data})
        return
    if "entities" in Path(file).parts:
        EntityFile.model_validate(data)
        return
    FlowFile.model_validate({"home": {}, "store": {}, **data})
    for family in ("home", "store"):
        if family in data:
            check_section(family, data[family])


def check_section(family: Family, section: dict[str, Any]) -> None:
    """The section is valid for its plugin; one naming no `type` for some plugin."""
    kinds = [section["type"]] if "type" in section else known_kinds(family)
    filled = {key: _fill(value) for key, value in section.items()}
    filled = with_connection_url(filled, readme_connections())
    errors = []
    for kind in kinds:
        plugin = home_class(kind) if family == "home" else store_class(kind)
        try:
            plugin.Config.model_validate({"type": kind, **filled})
            return
        except ValidationError as exc:
            errors.append(f"as a {kind} {family}: {exc}")
    pytest.fail(f"{family} {section}:\n" + "\n".join(errors))


def _fill(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    for placeholder, name in PLACEHOLDERS.items():
        value = value.replace(placeholder, name)
    return value


@cache
def readme_connections() -> dict[str, Connection]:
    """The connections the README's hygge.yml examples define, by name."""
    connections: dict[str, Connection] = {}
    for example in EXAMPLES:
        is_project = example.kind == "yaml" and Path(example.file).name == "hygge.yml"
        if is_project or example.kind == "config":
            with contextlib.suppress(Exception):  # a broken one fails its own test
                project = ProjectFile.model_validate({"name": "readme", **load(example)})
                connections.update(project.connections)
    return connections


def nested_keys() -> set[str]:
    """The keys one may write inside a connection, watermark, partition, home or store."""
    models: list[type[BaseModel]] = [Connection, *CLOUD_CONNECTIONS.values(), Watermark, Partition]
    for family, plugin in (("home", home_class), ("store", store_class)):
        models += [plugin(kind).Config for kind in known_kinds(family)]
    return {field.alias or name for m in models for name, field in m.model_fields.items()}


# --- commands ---------------------------------------------------------------------------------


def command_of(words: list[str]) -> tuple[click.Command, list[str], list[str]]:
    """The hygge (sub)command the words name, its name words and the rest of the words."""
    command: click.Command = main
    path = ["hygge"]
    rest = list(words)
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        sub = command.get_command(click.Context(command), rest[0])
        if sub is None:
            pytest.fail(f"no command {' '.join([*path, rest[0]])!r}")
        command, path, rest = sub, [*path, rest.pop(0)], rest
    return command, path, rest


def parse_command(argv: list[str], whole: bool = True) -> click.Context | None:
    """Parse a command line as the CLI would (options, types, required ones), running nothing.
    Not `whole`: a command named in prose, which may leave out its required options."""
    command, path, rest = command_of(argv)
    try:
        return command.make_context(" ".join(path), rest)
    except click.UsageError as exc:
        if isinstance(exc, click.MissingParameter) and not whole:
            return None
        pytest.fail(f"{shlex.join(['hygge', *argv])}: {exc.format_message()}")


def option(command: click.Command, name: str) -> click.Option:
    found = next(
        (p for p in command.params if isinstance(p, click.Option) and name in p.opts), None
    )
    if found is None:
        pytest.fail(f"{command.name} has no option {name}")
    return found


def check_var(text: str) -> None:
    """`flow.F[.entities.E].KEY=V` names a setting (walked through nested models) or one key
    of home/store."""
    name = text.partition("=")[0].split(".")
    key = name[4:] if name[2:3] == ["entities"] else name[2:]
    assert name[0] == "flow" and key, f"--var {text}: not flow.F[.entities.E].KEY=V"
    if key[0] in ("home", "store"):
        assert len(key) == 2, f"--var {text}: name one key of {key[0]}"
        return
    model: type[BaseModel] | None = Settings
    for part in key:
        assert model is not None and part in model.model_fields, f"--var {text}: no {part!r}"
        model = _model_in(model.model_fields[part].annotation)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next(filter(None, map(_model_in, getattr(annotation, "__args__", ()))), None)


# --- the tests --------------------------------------------------------------------------------

EXAMPLES = extract(README.read_text(encoding="utf-8"))


def examples(*kinds: str) -> list[Any]:
    return [pytest.param(e, id=f"L{e.line}-{e.kind}") for e in EXAMPLES if e.kind in kinds]


def test_the_readme_has_examples_of_every_kind() -> None:
    """Guards the extraction: a README formatted another way must not pass by having none."""
    kinds = {e.kind for e in EXAMPLES}
    assert kinds >= {"yaml", "config", "section", "keys", "hygge", "make", "option", "synopsis"}
    assert "python" in kinds
    assert len([e for e in EXAMPLES if e.kind == "yaml"]) >= 5
    assert set(REFUSED) <= {e.text for e in EXAMPLES}


@pytest.mark.parametrize("example", examples("yaml"))
def test_yaml_block(example: Example) -> None:
    check_file(example.file, load(example))


@pytest.mark.parametrize("example", examples("config", "section", "keys"))
def test_inline_yaml(example: Example) -> None:
    if example.text in REFUSED:
        with pytest.raises(ConfigError, match=REFUSED[example.text]):
            load(example)
        return
    data = load(example)
    if example.kind == "config":
        check_file("hygge.yml" if set(data) <= PROJECT_KEYS else "flow.yml", data)
    elif example.kind == "section":
        check_section("home", data)
        check_section("store", data)
    else:
        unknown = set(data) - nested_keys()
        assert not unknown, f"no home, store or connection has key(s) {sorted(unknown)}"


@pytest.mark.parametrize("example", examples("hygge"))
def test_command(example: Example) -> None:
    argv = shlex.split(example.text, comments=True)[1:]
    ctx = parse_command(argv, whole=not example.inline)
    for text in ctx.params.get("variables", ()) if ctx else ():
        check_var(text)


@pytest.mark.parametrize("example", examples("make"))
def test_make_target(example: Example) -> None:
    targets = set(re.findall(r"^([\w.-]+):", (ROOT / "Makefile").read_text(), re.MULTILINE))
    wanted = shlex.split(example.text, comments=True)[1:]
    assert set(wanted) <= targets, f"no make target {sorted(set(wanted) - targets)}"


@pytest.mark.parametrize("example", examples("option"))
def test_option_of_go(example: Example) -> None:
    name, *value = shlex.split(example.text)
    go = option(main.commands["go"], name)
    assert not (valueless(go) and value), f"{name} takes no value"
    if value and not re.search(r"[A-Z]", " ".join(value)):
        parse_command(["go", name, *value])
    if name == "--var" and value:
        check_var(value[0])


@pytest.mark.parametrize("example", examples("synopsis"))
def test_synopsis(example: Example) -> None:
    command, _, _ = command_of(example.text.split()[1:])
    for match in re.finditer(r"(?<![\w-])(--?[a-z][\w-]*)(\s+[^\s\[\]|-])?", example.text):
        name, takes_value = match.group(1), match.group(2) is not None
        assert valueless(option(command, name)) != takes_value, (
            f"{name} is shown {'with' if takes_value else 'without'} a value"
        )


def settings_table(text: str) -> dict[str, str | None]:
    """The README's table of settings: each one's default as written (None: said in words)."""
    table: dict[str, str | None] = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("| `") or len(cells) != 3:
            continue
        names = re.findall(r"`(\w+)`", cells[0])
        defaults = cells[2].split(", ") if "`" not in cells[2] else [None] * len(names)
        table |= dict(zip(names, defaults, strict=True))
    return table


def test_settings_table_gives_every_setting_with_its_default() -> None:
    table = settings_table(README.read_text(encoding="utf-8"))
    assert set(table) == set(SETTING_KEYS)
    builtin = BUILTIN_SETTINGS.model_dump()
    for name, written in table.items():
        if written is not None:
            assert (None if written == "none" else yaml.safe_load(written)) == builtin[name], name


@pytest.mark.parametrize("example", examples("python"))
def test_python(example: Example, tmp_path: Path) -> None:
    text = "\n" * (example.line - 1) + example.text  # errors name the README's lines
    keywords = inspect.signature(hygge.run).parameters
    for node in ast.walk(ast.parse(text, "README.md")):
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "hygge.run":
            unknown = {str(k.arg) for k in node.keywords} - set(keywords)
            assert not unknown, f"hygge.run has no keyword(s) {sorted(unknown)}"
    project = init_project(tmp_path / "shop").root
    code = compile(text.replace("path/to/project", str(project)), "README.md", "exec")
    names: dict[str, Any] = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(code, names)
    result = names.get("result")
    assert result is None or result.exit_code == 0  # the demo's run succeeded
