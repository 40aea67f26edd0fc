"""Turn an elliptical follow-up into one standalone question, without an LLM.

Retrieval and the answer's constraints see only the resolved question, so it must carry the
conversation's subject and must not carry the wrong one. The rules, tried in order:

* **slot replacement** - "what about X?" / "and X?" re-asks the previous question with X in the
  slot X fills: in a question about holding (stake, share, rights, own, keep) a name replaces
  the *holder* ("What stake does Microsoft hold in OpenAI?" + "what about Amazon?" -> "What
  stake does Amazon hold in OpenAI?": Amazon replaces the holder, not OpenAI the issuer), a
  possessive ("Google's?") the possessive, otherwise the last name; a number replaces a number, a
  year a year; "now"/"before X"/"in 2020" replace the time qualifier; a common noun replaces the
  noun group that shares a word with it.
* **time only** - "and now?", "what was it before the funding rounds?": the previous question
  with its time qualifier replaced.
* **references** - pronouns and "the company"/"that deal" are replaced by their antecedent
  from the previous question: "its" -> "Microsoft's", "the company" -> "Microsoft", "that deal" ->
  "the deal", a bare "it"/"that" -> the previous question's topic ("Microsoft's IP rights for
  models and products").
* **new ask, old topic** - a bare "and until when?" takes the previous question's frame with the
  new question word: "Until when does Microsoft keep the rights?".

Anything else is a standalone question and is returned unchanged.
"""

from __future__ import annotations

import re

from rag.language.textrules import AUXILIARIES, WH_WORDS, content_terms
from rag.language.textrules import DEFINITE_ORG as _DEFINITE_ORG
from rag.language.textrules import DEMONSTRATIVE as _DEMONSTRATIVE
from rag.language.textrules import MONTHS as _MONTH_NAMES
from rag.language.textrules import PRONOUN as _PRONOUN
from rag.language.textrules import YEAR_TOKEN as _YEAR
from rag.records import Turn

MAX_DEPTH = 8  # earlier turns consulted when the previous question was itself a follow-up

_LEAD = re.compile(r"(?i)^(?:(?:and|but|so|also|then|ok|okay|and then)\b[\s,]*)+")
_ABOUT = re.compile(
    r"(?i)^(?:(?:and|but|so|ok|okay)[\s,]+)?(?:what|how) about\s+(?P<x>.+?)[\s?.!]*$"
)
_WH = re.compile(r"(?i)\b(?:who|whom|whose|what|when|where|which|why|how)\b")
_VERBISH = re.compile(rf"(?i)^(?:{AUXILIARIES})\b")
_AUX = AUXILIARIES + "|shall"
# Pronouns that point at the articles or at nothing: "does it say", "is it true that".
_DUMMY = re.compile(
    r"(?i)\b(?:(?:does|do|did) (?:it|they) (?:say|mention|state|tell|matter)|is it (?:true|"
    r"possible|likely|the case|known)|they say)\b"
)
_NAME = re.compile(r"\b[A-Z][\w&-]*(?:\.[\w&-]+)*(?:\s+[A-Z][\w&-]*(?:\.[\w&-]+)*)*")
_NUMBER = re.compile(r"[$€£]?\d+(?:[.,]\d+)*%?")
_TIME_PHRASE = re.compile(
    r"(?i)\s*\b(?:(?:before|after|prior to|following|since|until|during) "
    r"(?:the |its |their |[A-Z][\w’'-]* )?(?:[\w’'-]+ ){0,3}?(?:\d{4}|[\w-]+(?= ?[?.!]*$))|"
    r"(?:in|by) (?:1[5-9]|20)\d\d|now|currently|"
    r"today|previously|originally|at first|these days)\b"
)
_TIME_ONLY = re.compile(
    r"(?i)^(?:(?:and|but|so|what|how)\s+)*(?:(?:about|was|were|is|are) )?(?:it |that |this |they )?"
    r"(?P<t>now|currently|today|then|previously|originally|at first|these days|"
    r"(?:before|after|prior to|following|since|until|during|in|by) "
    r"(?!.*\b(?:when|what|who|how|which|where|why)\b).+?)[\s?.!]*$"
)
_HOLDING = re.compile(r"(?i)\b(?:stake|stakes|share|shares|holding|holdings|investment|"
                      r"ownership|equity|rights|own|owns|hold|holds|held|invest|invested|"
                      r"keep|keeps|retain|retains)\b")
# "in New York", "at Harvard", "for Amazon": a preposition and a name fill a place slot
_PLACE = re.compile(r"^(?P<prep>(?i:in|at|for|from|to|with|on|near|by))\s+(?:the\s+)?"
                    r"(?P<name>[A-Z][\w&.-]*(?:\s+[A-Z][\w&.-]*)*)$")
_MONTHS = frozenset(_MONTH_NAMES.split("|"))
_MONTH_WORDS = (r"(?:" + "|".join(m.capitalize() for m in sorted(_MONTHS, key=len, reverse=True))
                + r")\b\.?(?:\s+\d{1,2}\b)?(?:,?\s+\d{4}\b)?")
# the two fallbacks that join rather than rewrite ("..., for: ...", "..., and what about X?"):
# they still search well, but they are not a question to show a user
_JOINED = re.compile(r", (?:for: |and what about )")
MAX_SHORT_TERMS = 1  # a question with at most this many content words can't stand alone
_NOT_NAMES = frozenset(
    f"{WH_WORDS} is are was were do does did can could will "
    "would should has have had the a an and but so through until in on for to of".split()
)


def _strip(text: str) -> str:
    return text.strip().rstrip("?.! ").strip()


def is_followup(question: str) -> bool:
    """True when the question leans on an earlier turn."""
    q = " ".join(question.split())
    if _ABOUT.match(q) or _LEAD.match(q):
        return True
    pronoun = _PRONOUN.search(_DUMMY.sub(" ", q))
    names = _names(q)
    if pronoun and not (names and names[0].start() < pronoun.start()
                        and pronoun.group().lower() in {"its", "their", "his", "her"}):
        return True  # "does Microsoft keep its rights": "its" is Microsoft, not an earlier turn
    if _DEMONSTRATIVE.search(q) or _DEFINITE_ORG.search(q):
        return True
    return len(content_terms(q)) <= MAX_SHORT_TERMS


# ---- reading the previous question -------------------------------------------------------------
def _names(text: str) -> list[re.Match[str]]:
    """Names in ``text`` (not its opening wh-word or auxiliary)."""
    out = []
    for m in _NAME.finditer(text):
        words = m.group().split()
        if words[0].lower() in _NOT_NAMES:
            if len(words) == 1:
                continue
            # "Does Microsoft" at the start: keep the name part only
            start = m.start() + len(words[0]) + 1
            m = _NAME.match(text, start)  # type: ignore[assignment]
            if m is None:
                continue
        out.append(m)
    return out


def _subject(text: str) -> re.Match[str] | None:
    """The previous question's holder or subject: "does Microsoft hold", "Microsoft's stake",
    else its first name."""
    names = _names(text)
    if not names:
        return None
    for m in names:
        if re.search(rf"(?i)\b(?:{_AUX})\s+(?:the\s+)?$", text[: m.start()]):
            return m
    for m in names:
        if re.match(r"['’]s?\b", text[m.end():]):
            return m
    return names[0]


def _other(text: str, subject: re.Match[str] | None) -> str | None:
    """A name of ``text`` other than its subject (the object of "a stake in OpenAI")."""
    for m in reversed(_names(text)):
        if subject is None or m.group() != subject.group():
            return m.group()
    return None


def _topic(text: str) -> str | None:
    """The thing the previous question is about, to stand for a bare "it"/"that": the
    possessive noun group ("Microsoft's IP rights for models and products"), else the noun
    group after its question word ("the stake")."""
    m = re.search(r"\b([A-Z][\w&-]*(?:\s[A-Z][\w&-]*)*['’]s?\s+(?:[\w-]+\s?){1,6})", text)
    if m:
        words = m.group(1).split()
        keep: list[str] = []
        for w in words:
            if keep and (re.fullmatch(rf"(?i){_AUX}|extended|valued|worth|now|still", w)
                         or w.lower().endswith("ed")):
                break
            keep.append(w)
        return " ".join(keep).rstrip(" ?.")
    m = re.match(rf"(?i)^\s*(?:what|which|how much|how many)\s+((?:[\w-]+\s){{1,3}}?)(?:{_AUX})\b",
                 text)
    if m:
        return "the " + m.group(1).strip()
    return None


# ---- rewriting ---------------------------------------------------------------------------------
def _replace_time(base: str, phrase: str) -> str:
    """``base`` with its time qualifier replaced by ``phrase`` (or with ``phrase`` added)."""
    stripped = _strip(base)
    found = list(_TIME_PHRASE.finditer(stripped))
    found = [m for m in found if m.group().strip().lower() not in {"in", "by"}]
    if found:
        m = found[-1]
        stripped = (stripped[: m.start()] + stripped[m.end():]).rstrip(" ,")
    if phrase.lower() in {"now", "currently", "today", "these days"}:
        stripped = re.sub(r"(?i)\bdid (\w+) (held|hold)\b", r"does \1 hold", stripped)
        stripped = re.sub(r"(?i)\bwas\b", "is", stripped, count=1)
    elif phrase.lower().startswith(("before", "prior", "previously", "originally", "at first")):
        stripped = re.sub(r"(?i)\bdoes (\w+(?: \w+)?) hold\b", r"did \1 hold", stripped)
        stripped = re.sub(r"(?i)^(\w+(?: \w+)?) is\b", r"\1 was", stripped, count=1)
    return f"{stripped} {phrase}?"


def _substitute(base: str, x: str) -> str:
    """``base`` asked about ``x`` instead (see the module docstring)."""
    x = _strip(x)
    place = _PLACE.match(x)
    if place:
        # "and in New York?" / "and in March?": the phrase of base with the same preposition
        # and a name (a month for a month) is the slot
        month = place.group("name").split()[0].lower() in _MONTHS
        what = _MONTH_WORDS if month else rf"(?:the\s+)?{_NAME.pattern}"
        slot = re.search(rf"(?i:\b{re.escape(place.group('prep'))})\s+{what}", base)
        if slot:
            return base[: slot.start()] + x + base[slot.end():]
    x_name = re.sub(r"['’]s$", "", x)
    article = re.match(r"(?i)the\s+(?=[A-Z])", x_name)
    if article:
        x_name = x_name[article.end():]
    if _NUMBER.fullmatch(x):
        is_year = bool(_YEAR.match(x))
        nums = [m for m in _NUMBER.finditer(base) if bool(_YEAR.match(m.group())) == is_year]
        if nums:
            m = nums[-1]
            return base[: m.start()] + x + base[m.end():]
    if _TIME_ONLY.match(x) and not x[:1].isupper():
        return _replace_time(base, _TIME_ONLY.match(x).group("t"))  # type: ignore[union-attr]
    if x_name[:1].isupper() or re.fullmatch(r"[a-z][\w&-]*", x_name) and _names(base):
        names = _names(base)
        possessive = [m for m in names if re.match(r"['’]s?\b", base[m.end():])]
        if re.search(r"['’]s$", x) and possessive:
            subject: re.Match[str] | None = possessive[0]  # "what about Google's?"
        elif _HOLDING.search(base):
            subject = _subject(base)  # the holder's slot: "what stake does Amazon hold"
        else:
            subject = names[-1] if names else None
        if subject is not None and subject.group().lower() != x_name.lower():
            name = x_name[:1].upper() + x_name[1:] if x_name.islower() else x_name
            if article:
                name = "the " + name
            start = subject.start()
            if article and start >= 4 and base[start - 4:start].lower() == "the ":
                start -= 4
            return base[:start] + name + base[subject.end():]
    # a common noun group: replace the one of base that shares a word with it
    x_words = [w for w in re.findall(r"[\w-]+", x) if w.lower() not in {"the", "a", "an", "its"}]
    for w in x_words:
        near = re.search(rf"(?i)\b{re.escape(w)}\b(?:\s+(?!{_AUX}\b)[a-z][\w-]*){{0,6}}", base)
        if near:
            group = near.group()
            cut = re.search(rf"\s+(?:\w+ed|{_AUX})\b", group)
            if cut:
                group = group[: cut.start()]
            return base.replace(group, " ".join(x_words), 1)
    return f"{_strip(base)}, and what about {x}?"


def _new_wh(base: str, ask: str) -> str:
    """The previous question's frame with a new question word: "until when" + "What rights
    does Microsoft keep?" -> "Until when does Microsoft keep the rights?"."""
    m = re.match(rf"(?i)^\s*(?:what|which|how much|how many)\s+((?:[\w-]+\s){{0,3}}?)"
                 rf"({_AUX})\s+(.+?)[\s?.!]*$", base)
    ask = ask[:1].upper() + ask[1:]
    if m:
        np = m.group(1).strip()
        return f"{ask} {m.group(2)} {m.group(3)}" + (f" the {np}" if np else "") + "?"
    m = re.match(rf"(?i)^\s*(?:who|whom|when|where|why|how)\s+({_AUX})\s+(.+?)[\s?.!]*$", base)
    if m:
        return f"{ask} {m.group(1)} {m.group(2)}?"
    # a yes/no question: "Can OpenAI work with Amazon?" -> "Until when can OpenAI work with Amazon?"
    m = re.match(rf"(?i)^\s*({_AUX})\s+(.+?)[\s?.!]*$", base)
    if m:
        return f"{ask} {m.group(1).lower()} {m.group(2)}?"
    return f"{ask}, for: {_strip(base)}?"


def _dereference(q: str, base: str) -> str:
    """Pronouns and "the company"/"that deal" replaced by their antecedents in ``base``."""
    subject = _subject(base)
    own = {m.group().lower() for m in _names(q)}
    name = subject.group() if subject is not None else None
    if name and name.lower() in own:  # "the company ... on Microsoft": not Microsoft
        name = _other(base, subject)
        if name and name.lower() in own:
            name = None
    out = q
    if name:
        first = _names(q)
        start = first[0].start() if first else len(out)  # "Microsoft ... its": its own name
        out = re.sub(r"(?i)\b(?:its|their|his|her)\b(?!\s*[?.!]*$)",
                     lambda m: f"{name}'s" if m.start() < start else m.group(), out)
        out = _DEFINITE_ORG.sub(name, out)
        out = re.sub(rf"(?i)\b({_AUX}|if) (?:it|they|he|she)\b(?= \w)(?! (?:say|mention|state|"
                     r"tell|matter)\b)", rf"\1 {name}", out)
        out = re.sub(r"(?i)^(?:it|they|he|she)\b(?= \w)", name, out)
    other = _other(base, subject)
    if other:
        out = re.sub(r"(?i)\b(of|in) it\b(?![\s?.!]*$)", rf"\1 {other}", out)
    topic = _topic(base)
    if topic:
        out = re.sub(r"(?i)\b(does|did|do|will|can|could|would) (?:that|this|it)\b(?! (?:say|"
                     r"mention|state|tell|matter)\b)", rf"\1 {topic}", out)
        out = re.sub(r"(?i)^(?:that|this|it)\b(?= (?:also )?(?:cover|include|apply|mean|last|"
                     r"end|start|happen)s?\b)", topic, out)
        out = re.sub(r"(?i)\b(?:of|on|from|in|verifies|covers|includes|to) (?:it|that|this|them)"
                     r"(?=[\s?.!]*$)",
                     lambda m: m.group().rsplit(" ", 1)[0] + " " + topic, out)
    return re.sub(r"(?i)\b(?:that|this|those|these)\s+(?=[a-z])(?!(?:also|still|just|only|is|"
                  r"was|are|were|be|before|after|if|when|the|a|an)\b)", "the ", out)


_IF_X = re.compile(r"(?i)(?:what\s+)?if\s+(?P<x>[\w&.-]+(?:\s+[A-Z][\w&.-]*)?)\s+"
                   r"(?:[a-z]+(?:s|ed)|does|did|do|is|was|has|had)\b(?:\s+\w+){0,3}?\s+"
                   r"(?:it|that|this|them|so)\W*$")


def _resolve(question: str, history: list[Turn], depth: int) -> str:
    q = " ".join(question.split())
    earlier = [t for t in history if t.question and t.question.strip()]
    if not earlier or depth >= MAX_DEPTH or not is_followup(q):
        return q
    base = _resolve(earlier[-1].question, earlier[:-1], depth + 1)
    if not _names(base):  # "What does the deal support?": the subject is further back
        for turn in reversed(earlier[:-1]):
            older = _resolve(turn.question, [], depth + 1)
            if _names(older):
                base = f"{_strip(base)} ({older})"
                break
    m = _ABOUT.match(q)
    lead = _LEAD.match(q)
    rest = _strip(q[lead.end():] if lead else q)
    if m is None:
        # "and if Microsoft declares it?": the same question with Microsoft in the slot
        m = _IF_X.match(rest)
        if m is not None and m.group("x").lower() in {"it", "they", "he", "she", "we", "you",
                                                       "i", "this", "that", "so"}:
            m = None
    if m is None and lead and rest and not _WH.search(rest) and not _VERBISH.match(rest) \
            and not rest.lower().startswith("if ") and len(rest.split()) <= 4:
        m = re.match(r"(?P<x>.+)", rest)  # "and Amazon?" reads as "what about Amazon?"
    if m is not None:
        x = m.group("x")
        if m.re is _IF_X and any(re.match(r"['’]s?\b", base[n.end():]) for n in _names(base)):
            x += "'s"  # "if Microsoft declares it": Microsoft's in the possessor's slot
        return _substitute(base, x)
    if not rest:
        return base
    t = _TIME_ONLY.match(rest)
    if t:
        return _replace_time(base, t.group("t"))
    if len(content_terms(rest)) <= MAX_SHORT_TERMS and _WH.search(rest) \
            and not _PRONOUN.search(rest):
        return _new_wh(base, rest)  # "and until when?"
    resolved = _dereference(rest, base)
    resolved = resolved[:1].upper() + resolved[1:]
    return resolved if resolved.endswith("?") else resolved + "?"


def resolve_followup(question: str, history: list[Turn]) -> str:
    """A standalone version of ``question`` given the earlier turns (most recent last)."""
    return _resolve(question, history or [], 0)


def understood_as(question: str, standalone: str) -> str | None:
    """The rewrite to show a user as "Understood as": only a well-formed question whose words
    differ from the ones asked (not a change of case or punctuation, not a joined fallback)."""
    shown = " ".join((standalone or "").split())
    if not shown or _JOINED.search(shown):
        return None
    same = re.findall(r"\w+", shown.lower()) == re.findall(r"\w+", question.lower())
    return None if same else shown
