"""Short names a document defines for itself, found once at ingest and kept with the document.

A reader asks "what is a PBC?" of an article that says "public benefit corporation (PBC)". Two
forms are recognised, both case-sensitive on the acronym so ordinary words are never taken for
one:

* ``long form (ACR)`` - "public benefit corporation (PBC)";
* ``ACR (long form)`` - "PBC (public benefit corporation)".

An acronym the text only uses is not matched with words elsewhere whose initials spell it: on
text nobody here wrote that guess was mostly wrong ("US" = "unbeaten streak", "CEO" = "consider
elected office", "ROIC" = "review our internal calculation": 747 such pairs in 600 RealTime QA
articles, nearly all of them chance, and about half of TAT-QA's), and a wrong long form is added
to every retrieval query and question that says the acronym (BENCHMARKS.md, "Acronyms a document
defines").

The result maps the acronym (lower-case) to its long form (lower-case). rag/answer/constraints.py
treats either form as the same name, and the facade adds the long form to the retrieval query.

Names a collection's readers use that its documents never define ("msft", "the Windows maker")
come from a user's own file (``CITEWISE_ALIASES_FILE``, ``load_aliases``), never from a list in
the code: such a list only ever knows the names of the articles it was written next to.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from rag.errors import ConfigError

MAX_ALIASES = 200  # per document: enough for a report, bounded for a hostile one
# Which rule made a stored table: a store records it with each document's aliases, and a table
# made by another rule (before 2026-12-05, the guess from initials) is made again from the text.
RULE = "defined"
_ACRONYM = re.compile(r"\b[A-Z][A-Z&]{1,6}s?\b")  # as a question says one
_SMALL = frozenset("of and the for in on to a an &".split())
_WORD = re.compile(r"[A-Za-z][\w-]*")


def _initials(words: list[str]) -> str:
    return "".join(w[0] for w in words if w.lower() not in _SMALL).upper()


def _long_form_before(text: str, end: int, acronym: str) -> str | None:
    """The words right before ``end`` whose initials spell ``acronym``."""
    words = _WORD.findall(text[max(0, end - 200):end])
    for n in range(len(acronym), min(len(words), 2 * len(acronym) + 2) + 1):
        cand = words[-n:]
        if cand and cand[0].lower() not in _SMALL and _initials(cand) == acronym:
            return " ".join(cand)
    return None


def document_aliases(text: str) -> dict[str, str]:
    """Acronym -> long form, both lower-case, for the acronyms ``text`` defines."""
    out: dict[str, str] = {}
    # "long form (ACR)"
    for m in re.finditer(r"\(([A-Z][A-Z&]{1,6})s?\)", text):
        acr = m.group(1)
        long = _long_form_before(text, m.start(), acr)
        if long:
            out.setdefault(acr.lower(), long.lower())
    # "ACR (long form)"
    for m in re.finditer(r"\b([A-Z][A-Z&]{1,6})s? \(([^()]{3,80})\)", text):
        acr, inner = m.group(1), m.group(2)
        words = _WORD.findall(inner)
        if words and _initials(words) == acr:
            out.setdefault(acr.lower(), " ".join(words).lower())
    return dict(list(out.items())[:MAX_ALIASES])


def load_aliases(path: Path) -> dict[str, str]:
    """A user's table of short names, a JSON object ``{"msft": "Microsoft", ...}``, lower-cased;
    ConfigError naming the file and what is wrong with it."""
    hint = ('it must be a JSON object of short names and the names they stand for, e.g. '
            '{"msft": "Microsoft", "the windows maker": "Microsoft"} (CITEWISE_ALIASES_FILE)')
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"Cannot read the aliases file {path}: {exc.strerror or exc}. Fix the "
                          "path in CITEWISE_ALIASES_FILE (or --aliases-file), or unset it.") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"The aliases file {path} is not valid JSON ({exc}); {hint}.") from exc
    if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and k.strip() and v.strip()
            for k, v in data.items()):
        raise ConfigError(f"The aliases file {path} is not usable: {hint}.")
    return {" ".join(k.lower().split()): " ".join(v.lower().split()) for k, v in data.items()}


def merge(tables: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """One table from several documents' (the first definition of an acronym wins)."""
    out: dict[str, str] = {}
    for table in tables:
        for k, v in table.items():
            out.setdefault(k, v)
    return out


def expand_query(question: str, table: Mapping[str, str]) -> str:
    """The question with the long form of each acronym it uses added, for retrieval only."""
    extra = []
    for m in _ACRONYM.finditer(question):
        long = table.get(m.group().lower().rstrip("s")) or table.get(m.group().lower())
        if long and long not in question.lower():
            extra.append(long)
    from rag.language.textrules import STOPWORDS_ALL, english_words

    # An informal lower-case "pbc" is read as the acronym, but an ordinary word never is: in a
    # news store some article defines WHO, US or IT, and "who" must not search for the World
    # Health Organization.
    words = english_words()  # looked up, never copied: a union of the vocabulary cost 1 ms
    for w in re.findall(r"\b[a-z]{2,7}\b", question):
        long = table.get(w) if w not in words and w not in STOPWORDS_ALL else None
        if long and long not in question.lower() and long not in extra:
            extra.append(long)
    return f"{question} ({'; '.join(extra)})" if extra else question
