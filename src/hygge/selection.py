"""The selection grammar: `--flow F[:RT]`, `--entity F.E[:RT]` and `--exclude F|F.E`, globs,
comma lists; `--tag T` keeps the entities that have one of the tags given."""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hygge.config.models import RUN_TYPE_ALIASES, RunType
from hygge.errors import SelectionError


@dataclass(frozen=True)
class Term:
    """One selection term: flow and entity globs, and an optional run type."""

    text: str
    flow: str
    entity: str
    run_type: RunType | None
    by_entity: bool  # came from --entity (more specific than --flow)

    def matches(self, flow: str, entity: str) -> bool:
        return fnmatch.fnmatchcase(flow, self.flow) and fnmatch.fnmatchcase(entity, self.entity)


@dataclass(frozen=True)
class Selection:
    terms: tuple[Term, ...] = ()
    excluded: tuple[Term, ...] = ()
    tags: tuple[str, ...] = ()

    @classmethod
    def parse(
        cls,
        flows: Iterable[str] = (),
        entities: Iterable[str] = (),
        exclude: Iterable[str] = (),
        tags: Iterable[str] = (),
    ) -> Selection:
        terms = [_flow_term(t) for t in _split(flows)]
        terms += [_entity_term(t) for t in _split(entities)]
        excluded = tuple(_exclude_term(t) for t in _split(exclude))
        return cls(tuple(terms), excluded, tuple(_split(tags)))

    def pick(
        self,
        addresses: list[tuple[str, str]],
        tags: Mapping[tuple[str, str], Iterable[str]] | None = None,
    ) -> dict[tuple[str, str], RunType | None]:
        """The selected (flow, entity) pairs with the run type the selection gives each, less
        the excluded ones, with one of the tags asked for (`tags`: each address's). Every
        term and tag must match something; an entity term beats a flow term."""
        picked = self._tagged(self._picked(addresses), tags or {})
        for term in self.excluded:
            matched = [a for a in addresses if term.matches(*a)]
            if not matched:
                raise SelectionError(_no_match(term, addresses).replace("no ", "--exclude: no ", 1))
            picked = {a: rt for a, rt in picked.items() if a not in matched}
        if not picked and self.excluded:
            raise SelectionError("--exclude leaves no entity to run", hint="exclude fewer")
        return picked

    def _tagged(
        self,
        picked: dict[tuple[str, str], RunType | None],
        tags: Mapping[tuple[str, str], Iterable[str]],
    ) -> dict[tuple[str, str], RunType | None]:
        if not self.tags:
            return picked
        known = {tag for address_tags in tags.values() for tag in address_tags}
        for tag in self.tags:
            if tag not in known:
                close = difflib.get_close_matches(tag, sorted(known), n=3, cutoff=0.5)
                found = f"; did you mean {', '.join(close)}?" if close else ""
                raise SelectionError(
                    f"no entity has tag {tag!r}{found}",
                    hint="tags are set by `tags: [..]` in flow.yml and entity files",
                )
        wanted = set(self.tags)
        kept = {a: rt for a, rt in picked.items() if wanted & set(tags.get(a, ()))}
        if not kept:
            raise SelectionError(
                f"no selected entity has tag {' or '.join(map(repr, self.tags))}",
                hint="select more (--flow, --entity) or other tags",
            )
        return kept

    def _picked(self, addresses: list[tuple[str, str]]) -> dict[tuple[str, str], RunType | None]:
        if not self.terms:
            return {address: None for address in addresses}
        hits: dict[tuple[str, str], list[Term]] = {}
        for term in self.terms:
            matched = [a for a in addresses if term.matches(*a)]
            if not matched:
                raise SelectionError(_no_match(term, addresses))
            for address in matched:
                hits.setdefault(address, []).append(term)
        return {a: _run_type_for(a, hits[a]) for a in addresses if a in hits}


def _run_type_for(address: tuple[str, str], terms: list[Term]) -> RunType | None:
    """The run type the most specific terms agree on (entity terms beat flow terms)."""
    for by_entity in (True, False):
        given = [t for t in terms if t.by_entity == by_entity and t.run_type]
        if len({t.run_type for t in given}) > 1:
            raise SelectionError(
                f"{'.'.join(address)} gets two run types: "
                + " and ".join(f"{t.run_type} from {t.text!r}" for t in given),
                hint="give each entity one run type",
            )
        if given:
            return given[0].run_type
    return None


def _split(values: Iterable[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


RUN_TYPE_HINT = "use incremental/i, full_drop/full-drop/d or merge/m"


def _run_type(option: str, text: str, colon: str, suffix: str) -> RunType | None:
    """The run type after the ':' of a term; None without a ':'. `F.E:` alone is refused."""
    if not colon:
        return None
    if not suffix:
        raise SelectionError(
            f"{option} {text!r}: nothing after ':'",
            hint=f"{RUN_TYPE_HINT} after the ':', or leave out the ':'",
        )
    run_type = RUN_TYPE_ALIASES.get(suffix.lower())
    if run_type is None:
        raise SelectionError(f"unknown run type {suffix!r} in {text!r}", hint=RUN_TYPE_HINT)
    return run_type


def _flow_term(text: str) -> Term:
    name, colon, suffix = text.partition(":")
    if not name or "." in name:
        raise SelectionError(
            f"--flow {text!r}: give a flow name (no dots)", hint="use --entity FLOW.ENTITY"
        )
    return Term(text, name, "*", _run_type("--flow", text, colon, suffix), False)


def _entity_term(text: str) -> Term:
    address, colon, suffix = text.partition(":")
    flow, dot, entity = address.partition(".")
    if not dot or not flow or not entity or "." in entity:
        raise SelectionError(
            f"--entity {text!r}: expected FLOW.ENTITY (globs allowed, e.g. 'sales.*')"
        )
    return Term(text, flow, entity, _run_type("--entity", text, colon, suffix), True)


def _exclude_term(text: str) -> Term:
    """A flow (no dot) or an entity to leave out; it takes no run type."""
    if ":" in text:
        raise SelectionError(f"--exclude {text!r}: an exclusion takes no ':RT'")
    return _entity_term(text) if "." in text else _flow_term(text)


def _no_match(term: Term, addresses: list[tuple[str, str]]) -> str:
    if term.by_entity:
        known = [f"{f}.{e}" for f, e in addresses]
        wanted = f"{term.flow}.{term.entity}"
    else:
        known = sorted({f for f, _ in addresses})
        wanted = term.flow
    close = difflib.get_close_matches(wanted, known, n=3, cutoff=0.5)
    kind = "entity" if term.by_entity else "flow"
    found = f"; did you mean {', '.join(close)}?" if close else ""
    return f"no {kind} matches {term.text!r}{found}"
