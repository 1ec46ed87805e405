"""Finding parties that are probably one: blocking keys, then a score with the reasons.

Comparing every party with every other is quadratic; instead each party gets a few *blocking
keys* (each email, each phone, and pairs of name-token prefixes and suffixes, so one typo still
leaves a key in common) and only parties sharing a key are compared. Names are compared with
rapidfuzz's ``token_sort_ratio`` on normalised names (accents, case, punctuation, titles and legal
forms removed; word order ignored).

A pair's score combines its pieces of evidence like independent probabilities
(``1 - Π(1 - p)``): the same email or phone weighs 0.90, a similar name (85% or more) its ratio, a
common organization 0.35 when the names are similar too. Pairs scoring :data:`MIN_SCORE` or more
are candidates: a shared email or phone alone, a name alike at 90%, or at 85% in the same
organization.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import combinations

import xrm_sdk as xrm
from rapidfuzz import fuzz, process
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from .people import WORKS_FOR
from .profiles import ContactPoint

#: The lowest score a pair needs to enter the review queue.
MIN_SCORE = 90
#: Names at least this similar (0–100) count as evidence.
NAME_EVIDENCE = 85
#: Weights of exact matches (see the module docstring).
EMAIL_WEIGHT, PHONE_WEIGHT, ORGANIZATION_WEIGHT = 0.90, 0.90, 0.35
#: An email or phone shared by more parties than this is a switchboard or a team inbox, not a sign
#: that they are one; such keys are skipped.
MAX_SHARED_KEY = 20
#: Name blocks larger than this are cut into sorted windows of this size, so a very common name
#: costs at most ``n * MAX_NAME_BLOCK`` comparisons.
MAX_NAME_BLOCK = 500
#: Words ignored in names: titles of people, legal forms of organizations.
TITLES = ("mr", "mrs", "ms", "miss", "dr", "prof", "sir", "herr", "frau", "mme", "mlle")
LEGAL_FORMS = ("gmbh", "ag", "kg", "ohg", "ug", "ev", "inc", "ltd", "llc", "plc", "co", "corp", "corporation",
               "company", "sa", "sarl", "sas", "bv", "nv", "spa", "srl", "ab", "as", "oy")
IGNORED_WORDS = frozenset(TITLES + LEGAL_FORMS)

Progress = Callable[[int, int], None]


@dataclass
class Contact:
    """What dedupe compares of one party."""

    id: int
    kind: str
    name: str
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    organizations: set[int] = field(default_factory=set)
    #: The name's words in alphabetical order: ``fuzz.ratio`` of two of these is the names'
    #: ``token_sort_ratio``, without sorting the words again at every comparison.
    sorted_name: str = field(init=False)

    def __post_init__(self) -> None:
        self.sorted_name = " ".join(sorted(self.name.split()))


@dataclass(frozen=True)
class Candidate:
    """Two parties (``a_id < b_id``) that are probably one, how sure (0–100) and why."""

    a_id: int
    b_id: int
    score: int
    reasons: tuple[str, ...]


def normalise_name(name: str) -> str:
    """``"Dr. José  Müller-Lüdenscheidt"`` → ``"jose muller ludenscheidt"``."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    words = re.sub(r"[^0-9a-z]+", " ", plain).split()
    kept = [word for word in words if word not in IGNORED_WORDS]
    return " ".join(kept or words)


def load_contacts(session: Session) -> list[Contact]:
    """The parties the session may see, with their emails, phones and current employers."""
    contacts = {
        party_id: Contact(party_id, kind, normalise_name(name))
        for party_id, kind, name in session.execute(select(xrm.Party.id, xrm.Party.kind, xrm.Party.display_name))
    }
    points = select(ContactPoint.party_id, ContactPoint.kind, ContactPoint.value).where(
        ContactPoint.kind.in_(("email", "phone")))
    for party_id, kind, value in session.execute(points):
        contact = contacts.get(party_id)
        if contact is not None:
            # Stored normalised (lower-case emails, E.164 phones); folding again costs nothing.
            (contact.emails if kind == "email" else contact.phones).add(value.strip().casefold())
    today = xrm.utcnow().date()
    employments = select(xrm.Relationship.from_party_id, xrm.Relationship.to_party_id).where(
        xrm.Relationship.type.has(code=WORKS_FOR),
        or_(xrm.Relationship.valid_from.is_(None), xrm.Relationship.valid_from <= today),
        or_(xrm.Relationship.valid_to.is_(None), xrm.Relationship.valid_to >= today),
    )
    for person_id, organization_id in session.execute(employments):
        if person_id in contacts:
            contacts[person_id].organizations.add(organization_id)
    return list(contacts.values())


def name_keys(name: str) -> set[str]:
    """Blocking keys of a normalised name: prefixes and suffixes of its word pairs, order-free.

    A typo changes either the start or the end of a word, rarely both, so two spellings of one
    name share at least one key.
    """
    words = name.split()[:4]
    if len(words) == 1:
        return {"1:" + words[0][:4], "1~" + words[0][-4:]}
    keys = set()
    for first, second in combinations(words, 2):
        keys.add("2:" + "|".join(sorted((first[:3], second[:3]))))
        keys.add("2~" + "|".join(sorted((first[-3:], second[-3:]))))
    return keys


def find_candidates(contacts: list[Contact], progress: Progress | None = None) -> list[Candidate]:
    """Every pair of ``contacts`` scoring :data:`MIN_SCORE` or more, best first.

    :param progress: Called with (blocks done, blocks in all) as the comparison goes on.
    """
    by_id = {contact.id: contact for contact in contacts}
    exact: dict[str, list[int]] = defaultdict(list)
    names: dict[str, list[int]] = defaultdict(list)
    for contact in contacts:
        for email in contact.emails:
            exact["e:" + email].append(contact.id)
        for phone in contact.phones:
            exact["p:" + phone].append(contact.id)
        if contact.name:
            for key in name_keys(contact.name):
                names[f"{contact.kind}/{key}"].append(contact.id)
    pairs: set[tuple[int, int]] = set()
    for members in exact.values():
        if 1 < len(members) <= MAX_SHARED_KEY:
            pairs.update(_ordered(a, b) for a, b in combinations(members, 2)
                         if by_id[a].kind == by_id[b].kind)
    blocks = [members for members in names.values() if len(members) > 1]
    for done, members in enumerate(blocks, 1):
        pairs.update(_similar_names(by_id, members))
        if progress is not None and (done % 1000 == 0 or done == len(blocks)):
            progress(done, len(blocks))
    scored = (score_pair(by_id[a], by_id[b]) for a, b in pairs)
    return sorted((c for c in scored if c.score >= MIN_SCORE), key=lambda c: (-c.score, c.a_id, c.b_id))


def _similar_names(by_id: dict[int, Contact], members: list[int]) -> Iterator[tuple[int, int]]:
    members = sorted(members, key=lambda party_id: by_id[party_id].sorted_name)
    for start in range(0, len(members), MAX_NAME_BLOCK):
        window = members[start:start + MAX_NAME_BLOCK]
        choices = [by_id[party_id].sorted_name for party_id in window]
        for index, name in enumerate(choices[:-1]):
            for _match, score, offset in process.extract(
                    name, choices[index + 1:], scorer=fuzz.ratio, score_cutoff=NAME_EVIDENCE, limit=None):
                a, b = by_id[window[index]], by_id[window[index + 1 + offset]]
                # Below MIN_SCORE a name alone is not enough: only a common employer can lift it.
                if score >= MIN_SCORE or a.organizations & b.organizations:
                    yield _ordered(a.id, b.id)


def score_pair(a: Contact, b: Contact) -> Candidate:
    """How sure it is that ``a`` and ``b`` are one party, with the reasons a reviewer reads."""
    evidence: list[float] = []
    reasons: list[str] = []
    if a.emails & b.emails:
        evidence.append(EMAIL_WEIGHT)
        reasons.append("same email")
    if a.phones & b.phones:
        evidence.append(PHONE_WEIGHT)
        reasons.append("same phone")
    ratio = round(fuzz.ratio(a.sorted_name, b.sorted_name))
    reasons.append(f"name {ratio}%")
    if ratio >= NAME_EVIDENCE:
        evidence.append(ratio / 100)
        if a.organizations & b.organizations:
            evidence.append(ORGANIZATION_WEIGHT)
            reasons.append("same organization")
    doubt = 1.0
    for weight in evidence:
        doubt *= 1 - weight
    low, high = _ordered(a.id, b.id)
    return Candidate(low, high, min(100, round((1 - doubt) * 100)) if evidence else 0, tuple(reasons))


def _ordered(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def detect(session: Session, progress: Progress | None = None) -> tuple[list[Candidate], set[int]]:
    """The candidate pairs among the parties ``session`` may see, and the ids of the parties compared."""
    contacts = load_contacts(session)
    return find_candidates(contacts, progress), {contact.id for contact in contacts}
