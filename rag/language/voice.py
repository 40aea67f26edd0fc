"""A document's own voice: who "we", "our", "the Company" and "the Group" are.

Annual reports, policies and minutes speak of their organisation as "we" or "the Group": "We
employed 1,480 people" answers "How many people does Acme employ?" when the report is Acme's.
The names a document speaks for are its title, its author (an organisation, as metadata) and
any definition it makes ("Acme Holdings plc (the “Company”)", "Acme Ltd (“we”, “us”)"). They
are found once at ingest (stored with the document) and let a sentence in that voice stand
for the name in the question checks (rag/answer/constraints.py), never a sentence about someone else.
"""

from __future__ import annotations

import re

from rag.records import Document

MAX_NAMES = 8
# A capitalised name, then "(the “Company”)", "(together, the Group)", "(“we”, “us”)" ...
_DEFINITION = re.compile(
    r"((?:[A-Z][\w&'’.-]*\s+){0,5}[A-Z][\w&'’.-]*(?:,?\s+(?:plc|ltd|limited|inc|llc|ag|sa|nv|"
    r"se|gmbh|corp|co)\b\.?)?),?\s*\(\s*(?:together\s+with\s+its\s+"
    r"subsidiaries,?\s*|collectively,?\s*|together,?\s*)?(?:the\s+|this\s+)?[“\"‘']?\s*"
    r"(?:Company|Group|Corporation|Firm|Bank|Society|Organi[sz]ation|Partnership|Trust|Fund|"
    r"Charity|Council|Authority|Business|Issuer|we|us|our)\b")
# The words a document calls itself by ("the Company", "the Group"), and the first-person
# plural it speaks in. Case matters for the pronouns: "US government" is not "us".
_VOICE_NOUNS = ("company", "group", "corporation", "firm", "bank", "society", "organisation",
                "organization", "partnership", "trust", "fund", "charity", "council",
                "authority", "business")
_FIRST_PERSON = re.compile(r"\b(?:[Ww]e|[Oo]urs?|us|[Oo]urselves)\b")
# What a sentence in the document's voice says: a first-person plural, or "the Company".
SELF_REFERENCE = re.compile(
    rf"{_FIRST_PERSON.pattern}|\b(?i:the (?:{'|'.join(_VOICE_NOUNS)}))(?:['’]s)?\b")


def voice_names(doc: Document) -> list[str]:
    """The names ``doc`` speaks for: definitions it makes, its title, its authors."""
    names: list[str] = []
    for m in _DEFINITION.finditer(doc.text[:200_000]):
        name = " ".join(m.group(1).split()).strip(".,")
        if name.lower() not in {"the", "this", "our", "we"}:
            names.append(name)
    names += [doc.title, *(doc.sections[0][1:] if doc.sections else ()), *doc.authors]
    out = list(dict.fromkeys(n.strip() for n in names if n and n.strip()))
    return out[:MAX_NAMES]


# A question's "the company" (or "the Group", "the entity") in a report is the report's own
# organisation, as the report's "we" is.
SELF_NOUNS = frozenset(_VOICE_NOUNS) | {"entity"}


def is_self_noun(label: str) -> bool:
    """Is a question's name only the word a document calls itself by ("the company")?"""
    return label.removeprefix("the ").strip() in SELF_NOUNS


def speaks_as_self_noun(sentence: str, label: str) -> bool:
    """Does the sentence speak in its document's voice as the question's "the company" asks:
    "we" / "our", or the same word ("the Company"); "the Group" is not asked "the Corporation"
    (two words a report would not use for itself both)."""
    plain = _QUOTED.sub(" ", sentence)
    noun = label.removeprefix("the ").strip()
    return bool(_FIRST_PERSON.search(plain)
                or re.search(rf"(?i:\bthe {re.escape(noun)}\b)", plain))


_QUOTED = re.compile(r"“[^”]*(?:”|$)|\"[^\"]*(?:\"|$)|‘[^’]*(?:’(?!\w)|$)")


def speaks_as(sentence: str) -> bool:
    """Does the sentence speak in a document's own voice ("we", "the Company")? Words in
    quotation marks are a speaker's ("“As we enter the next phase,” said ..."), not the
    document's."""
    return bool(SELF_REFERENCE.search(_QUOTED.sub(" ", sentence)))
