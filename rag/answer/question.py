"""Reading a question: the constraints it states (rag/answer/constraints.py checks a sentence
against them). ``parse`` is a sequence of named steps - the alias table, alias names, capitalised
names, names the documents write, entities, numbers and time, measures, events and agents, roles,
negation, the holder, the canonical form, the asked noun, what the named holder has - each a
function; ``known_names`` collects the names the retrieved passages write, so an informal
"amazon" counts as the name Amazon.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

from rag.answer.constraints import (
    MONTH,
    ORDINALS,
    PASSAGE_TEXT_CACHE,
    PAST,
    POSSESS_NOUNS,
    POSSESS_VERBS,
    PRESENT,
    VERB_GROUPS,
    Constraints,
    Entity,
    contains,
    numbers_in,
)
from rag.language.text import normalize
from rag.language.textrules import (
    ABBREVIATIONS,
    AUXILIARIES,
    FULL_MONTHS,
    ORG_SUFFIXES,
    STOPWORDS_ALL,
    WH_WORDS,
    snowball,
    stem,
)

# Words that are capitalised in questions without naming anything the evidence must contain.
_NOT_ENTITIES = frozenset(
    f"""i {WH_WORDS} is are was were do does did can could will
    would should shall may might must has have had the a an and or but if in on of to for by
    with from at as yes no please tell explain describe list give name according article articles
    document documents text story report mr mrs ms dr fy""".split()
)
_NAME_RUN = re.compile(
    r"\b[A-Z][\w&'’.-]*[\w&]|\b[A-Z]\b"
)
_Q_ORDINAL = re.compile(r"\b(?:first|second|third|fourth|fifth)\b"
                        r"(?! name\b| part(?:y|ies)\b| quarter\b| half\b| person\b)")


_MEASURE_OF = re.compile(
    r"\b(?:percentage|percent|share|proportion|fraction|portion|amount|number|value|size|cost|"
    r"price|rate|level|volume|total) of (?:the |its |their |his |her |this |that |a |an )?"
    r"(?P<noun>[a-z][\w-]*)"
)
_STAND_FOR = re.compile(r"\b(?:stands? for|short for|abbreviation|acronym|spelled out|"
                        r"full (?:name|form))\b")
# In the question only a negated main verb counts ("which investors are not included"), not
# "other than X" or "for not paying".
# "learning that is not inside the classroom": a negation inside a relative clause describes,
# it does not ask for what is not so.
_REL_NEGATION = re.compile(r"\b(?:that|which|who|whom)\s+(?:\w+\s+){0,2}?(?:not|never|n't)\b|"
                           r"\b(?:that|which|who)\s+\w+n't\b")
_Q_NEGATION = re.compile(r"(?<!\bfor )(?<!\bby )(?<!\bof )(?<!\bwithout )"
                         r"\b(?:not|never|no longer|cannot)\b|n't\b")
# "Who is the chief executive of OpenAI?", "Who is Microsoft's chief executive?": the role
# asked about must be named in the answer.
# Titles a who-is-the-<role> answer names ("Who is the chief executive?"); other nouns ("the
# receiver", "the creators") are told without the title ("a pass to Bennie Fowler").
_ROLE_TITLES = frozenset(
    """ceo executive president chairman chairwoman chair chairperson director founder cofounder
    co-founder leader head manager coach captain mayor minister governor secretary chancellor
    premier king queen emperor pope bishop dean principal commissioner spokesperson spokesman
    spokeswoman treasurer editor owner officer cfo cto coo member members""".split())
_WHO_ROLE = re.compile(
    r"^\W*who (?:is|was|are|were|will be|has been|had been) (?:the |a |an |[\w&.'-]+'s? )?"
    r"(?P<f>[a-z][a-z -]*?)(?: of\b| at\b| for\b| in\b| on\b|\s*[?.!]*$)"
)
# A question about a stake is not answered by a sentence about a purchase, however large the
# number in it: the quantity asked about must be named (any word of its group).
_MEASURE_GROUPS: tuple[tuple[str, ...], ...] = (
    ("stake", "stakes", "share", "shares", "holding", "holdings", "investment", "invested",
     "ownership", "own", "owns", "owned", "equity", "per cent", "percent", "%"),
    ("revenue", "revenues", "sales", "turnover", "income"),
    ("profit", "profits", "earnings", "net income"),
    ("salary", "salaries", "pay", "wage", "wages", "compensation"),
    ("budget", "budgets", "funding"),
    ("cost", "costs", "costing", "price", "priced", "prices", "paid", "pay", "pays", "spent",
     "spend", "spending", "fee", "fees", "purchase", "purchased", "buy",
     "buys", "bought", "$", "€", "£"),
)
# "Who leads the project?" is not answered by "The project is run by the Port Authority" when
# the next sentence names the lead: the asked verb (or its noun: leader, designer) must be there.
_WHO_VERB = re.compile(r"^\W*(?:(?:and|but|so)\s+)?who\s+(?:will\s+|would\s+|can\s+)?"
                       r"(?P<v>[a-z]+)\b")
# Verbs that give someone a role the answer must name ("leads", "chairs", "designed"). Other
# verbs are left to the scorer: "who claims ..." is often answered by "X argues ...".
_AGENT_VERBS = frozenset(
    """lead head chair run direct manag overse own found design build built write wrote
    invent creat develop win won verifi approv fund financ sponsor organis organiz coach
    captain command govern rule edit publish produc compos paint sculpt architect""".split()
)
_LIGHT_VERBS = frozenset(
    """is are was were be been being do does did have has had get gets got make makes made take
    takes took go goes went come comes came say says said tell told know knew think give gave
    will would can could should may might must shall""".split()
)


# "how many antidilutive shares": the counted thing is the noun after its modifiers
_COUNT_Q = re.compile(r"\bhow many\s+(?:of\s+(?:the\s+|its\s+|their\s+)?)?"
                      r"(?:(?:new|more|other|additional|total|different|separate|"
                      r"[a-z-]+(?:ive|al|ous|ful|ic|able|ible|ary))\s+(?=[a-z]))?"
                      r"(?P<noun>[a-z][\w-]*)")
_Q_HOLDER = [
    re.compile(rf"(?P<e>[\w&.-]+(?: [\w&.-]+){{0,3}})'s? (?:\w+ ){{0,2}}(?:{POSSESS_NOUNS})\b"),
    re.compile(r"\b(?:does|did|do|has|have|had|will|would|could|can) (?:the )?"
               r"(?P<e>[\w&.-]+(?: [\w&.-]+){0,3}?) (?:still |now |currently )?"
               r"(?:own|hold|control|have|has|keep|retain|invest|get)\b"),
    re.compile(rf"\b(?:{POSSESS_NOUNS}) (?:does|did|do|has|have|had|will) (?:the )?"
               rf"(?P<e>[\w&.-]+(?: [\w&.-]+){{0,3}}?) (?:\w+ )?(?:own|hold|have|control)\b"),
    re.compile(rf"\b(?P<e>[\w&.-]+(?: [\w&.-]+){{0,3}}?) (?:{POSSESS_VERBS})\b"),
]


# ---- parsing the question ------------------------------------------------------------------------
def parse(question: str, aliases: Mapping[str, str] | None = None,
          known_names: Iterable[str] = ()) -> Constraints:
    """The constraints ``question`` states. ``aliases`` maps short forms to canonical names
    (lower-case); ``known_names`` are lower-cased names seen in the documents, so an informal
    "amazon" counts as the name Amazon. One named step per kind of constraint."""
    table = _alias_table(question, aliases)
    q = " ".join(_plain(question).split())
    qn = normalize(q)
    c = Constraints(question=q)
    spans, labels = _alias_names(q, qn, table)
    labels += _capitalised_names(q, spans)
    labels += _informal_names(q, qn, {n.lower() for n in known_names}, spans, labels)
    c.entities = _entities(q, qn, labels, table)
    _numbers_and_time(c, qn, labels)
    _measures(c, q, qn)
    _events_and_agents(c, q, qn)
    _roles(c, qn)
    c.negated = _negated(qn)
    cm = _COUNT_Q.search(qn)
    if cm and cm.group("noun") not in STOPWORDS_ALL:
        c.count_noun = stem(cm.group("noun"))
    c.holder = _question_holder(qn, c.entities)
    c.canonical = _canonical(qn, spans, table)
    c.asked = _asked(qn)
    c.possessed = _possessed(q, qn, c.entities)
    return c


def _alias_table(question: str, aliases: Mapping[str, str] | None) -> dict[str, str]:
    """The language's abbreviations and the documents' (and the user's) aliases, lower-case.
    An acronym a document defines counts in lower case only when it is no ordinary word ("who"
    is not the World Health Organization unless written WHO)."""
    doc_aliases = {k.lower(): v.lower() for k, v in (aliases or {}).items()}
    return {**ABBREVIATIONS, **{k: v for k, v in doc_aliases.items()
                                if k not in STOPWORDS_ALL and k not in _NOT_ENTITIES
                                or re.search(rf"\b{re.escape(k.upper())}\b", question)},
            **_defined_here(question)}


_DEFINED = re.compile(r"((?:[A-Z][\w&'-]*\s+(?:(?:of|on|per|and|for|to|in)\s+)?){1,6})"
                      r"\(([A-Z][A-Za-z&]{1,9})\)")


def _defined_here(question: str) -> dict[str, str]:
    """Acronyms the question defines itself ("Earning Per Share (EPS)"): the two are one name,
    and a sentence naming either ("Earnings per share (“EPS”)") names it."""
    out: dict[str, str] = {}
    for m in _DEFINED.finditer(question):
        words, short = m.group(1).split(), m.group(2).lower()
        starts = [i for i, w in enumerate(words) if w[0].lower() == short[0]
                  and sum(x[0].isupper() for x in words[i:]) >= 2]
        exact = [i for i in starts if "".join(x[0] for x in words[i:] if x[0].isupper()).lower()
                 == short]
        if exact or starts:
            out[short] = normalize(" ".join(words[(exact or starts)[-1]:]))
    return out


def _alias_names(q: str, qn: str, table: Mapping[str, str]
                 ) -> tuple[list[tuple[int, int]], list[str]]:
    """Step 1: alias phrases (multi-word first) anywhere in the question, case-insensitive;
    their spans in ``qn`` and the names they stand for."""
    spans: list[tuple[int, int]] = []
    labels: list[str] = []
    # An acronym inside a longer name ("PBC" of "OpenAI Group PBC") is part of that name.
    runs = [(m.start(), m.start() + len(_name_run(q, m))) for m in _NAME_RUN.finditer(q)]
    runs = [(a, b) for a, b in runs if " " in q[a:b]]
    for short in sorted(table, key=len, reverse=True):
        for m in re.finditer(rf"(?<![\w.]){re.escape(short)}(?![\w])", qn):
            if short in {"us", "u.s", "u.s."} and not re.search(r"\bU\.?S\.?\b", q[m.start():m.end() + 1]):
                continue
            if any(s <= m.start() < e for s, e in spans):
                continue
            if any(a <= m.start() and m.end() <= b and (a, b) != (m.start(), m.end())
                   for a, b in runs):
                continue
            spans.append((m.start(), m.end()))
            labels.append(table[short])
    return spans, labels


def _capitalised_names(q: str, spans: list[tuple[int, int]]) -> list[str]:
    """Step 2: capitalised runs ("OpenAI Group PBC", "Amazon"), not the question's opening
    word, nor one inside an alias or a longer name already read."""
    labels: list[str] = []
    taken: list[tuple[int, int]] = []
    for m in _NAME_RUN.finditer(q):
        if any(s <= m.start() < e for s, e in spans + taken):
            continue  # inside an alias or a longer name already read
        run = _name_run(q, m)
        words = run.split()
        if m.start() == 0 or not q[: m.start()].strip(" \"'“‘("):
            if not (any(ch.isupper() for ch in words[0][1:]) or words[0].isupper()):
                continue  # "Who ...", "Does ..." but not "OpenAI ..."
        low = _clean_name(normalize(run))
        if not low or low in _NOT_ENTITIES or all(w in STOPWORDS_ALL for w in low.split()):
            continue
        if _DAY.fullmatch(low):
            continue  # "September 30": a date, whose day is a number the sentence must give
        taken.append((m.start(), m.start() + len(run)))
        labels.append(low)
    return labels


_DAY = re.compile(rf"(?:{FULL_MONTHS})(?: \d+)?")


def _informal_names(q: str, qn: str, known: set[str], spans: list[tuple[int, int]],
                    labels: list[str]) -> list[str]:
    """Step 3: in a question written in lower case, words that the documents write as names."""
    found: list[str] = []
    informal = not re.search(r"(?<=\w )[A-Z]", q)
    for m in re.finditer(r"[a-z][\w&-]+", qn if informal else ""):
        w = m.group()
        if w in known and w not in STOPWORDS_ALL and w not in _NOT_ENTITIES \
                and not any(s <= m.start() < e for s, e in spans) \
                and not any(contains(lab, w) for lab in labels + found):
            found.append(w)
    return found


def _entities(q: str, qn: str, labels: list[str], table: Mapping[str, str]) -> list[Entity]:
    """Step 4: one Entity per name (a name inside a longer one is the longer one's), with
    its forms, whether it names a role and the noun it modifies."""
    reverse: dict[str, set[str]] = {}
    for short, full in table.items():
        reverse.setdefault(full, set()).add(short)
    roles = _role_spans(q)
    seen: set[str] = set()
    out: list[Entity] = []
    for label in labels:
        label = table.get(label, label)
        if label in seen or any(label != other and contains(other, label) for other in labels
                                if table.get(other, other) != label):
            continue
        seen.add(label)
        ent = _entity(label, table, reverse)
        is_role = any(contains(normalize(r), f) for r in roles for f in ent.forms)
        out.append(Entity(ent.label, ent.forms, ent.long_forms, role=is_role,
                          head=_head(qn, ent)))
    return out


def _numbers_and_time(c: Constraints, qn: str, labels: list[str]) -> None:
    """Step 5: the numbers the question gives (not those of a name: "Super Bowl 50"; digits
    only: "one of the sites" asks for no number), its time qualifier, its ordinal, its months."""
    in_names = {n for lab in labels for n in numbers_in(lab, words=False)}
    c.numbers = numbers_in(qn, words=False) - in_names
    past, present = bool(PAST.search(qn)), bool(PRESENT.search(qn))
    if past != present:
        c.time = "past" if past else "present"
    ords = [m.group() for m in _Q_ORDINAL.finditer(qn)]
    if ords:
        c.ordinal = ORDINALS[ords[0]]
    c.months = set(MONTH.findall(qn))


def _measures(c: Constraints, q: str, qn: str) -> None:
    """Step 6: what is measured ("the value of X"), "stand for", and the measure words a
    numeric question needs (stake, cost, revenue ...)."""
    mm = _MEASURE_OF.search(qn)
    if mm and mm.group("noun") not in STOPWORDS_ALL and not any(
            contains(mm.group("noun"), f) or contains(f, mm.group("noun"))
            for e in c.entities for f in e.forms):
        c.measured = stem(mm.group("noun"))
    c.expansion = bool(_STAND_FOR.search(qn))
    from rag.answer.answer_types import AnswerType, question_type

    numeric = question_type(q) in (AnswerType.NUMBER, AnswerType.PERCENT)
    for group in _MEASURE_GROUPS if numeric else ():
        if any(contains(qn, w) for w in group):
            c.measure = group
            break


def _events_and_agents(c: Constraints, q: str, qn: str) -> None:
    """Step 7: the event a when-question dates ("When did X open?") and the act a
    who-question asks the agent of ("Who founded X?")."""
    from rag.answer.answer_types import AnswerType, question_type

    wm = _WHEN_VERB.search(qn)
    if wm and question_type(q) is AnswerType.DATE:
        v = snowball(wm.group("v"))
        if any(v in g or stem(wm.group("v")) in g for g in VERB_GROUPS):
            c.event = v
    vm = _WHO_VERB.match(qn)
    if vm and vm.group("v") not in _LIGHT_VERBS:
        v = snowball(vm.group("v"))
        if v in _AGENT_VERBS or stem(vm.group("v")) in _AGENT_VERBS:
            c.verb = v


def _roles(c: Constraints, qn: str) -> None:
    """Step 8: the role a "who is the <role>" question asks for."""
    fm = _WHO_ROLE.match(qn)
    if fm and _PASSIVE.match(fm.group("f")) and not _DETERMINED.search(qn[: fm.start("f")]):
        fm = None  # "Who is included in ...": a passive verb, not a role the answer must name
    if fm:
        head = [w for w in re.findall(r"[a-z]+", fm.group("f")) if w not in STOPWORDS_ALL]
        if head and (head[-1] in _ROLE_TITLES or " ".join(head) in ABBREVIATIONS.values()
                     or " ".join(head) in ABBREVIATIONS):
            c.focus = stem(head[-1])
            phrase = " ".join(head)
            c.focus_alt = next((k for k, v in ABBREVIATIONS.items() if v == phrase), None) \
                or ABBREVIATIONS.get(phrase)


def _negated(qn: str) -> bool:
    """Step 9: a negated wh-question; "Is OpenAI not allowed to ...?" is answered either way,
    and "which investors are not ..." is the question's own relative clause."""
    opening = re.match(r"\W*\w+", qn)
    return bool(_Q_NEGATION.search(qn)) \
        and not _REL_NEGATION.search(qn, opening.end() if opening else 0) \
        and not qn.lstrip(" \"'(").startswith("why") and not re.match(
            rf"\W*(?:{AUXILIARIES})\b", qn)


def _head(qn: str, ent: Entity) -> str:
    """The noun ``ent`` modifies in the question ("solar" in "the solar array" -> "array"), or
    the last word of a longer name ("home delivery service" -> "service"); never after a
    possessive ("Microsoft's declaration" is Microsoft's, not a description of it)."""
    for f in sorted(ent.forms, key=len, reverse=True):
        m = re.search(rf"(?<![\w]){re.escape(f)}(?![\w'’])\s+(?P<n>[a-z][a-z-]+)\b", qn)
        if m and m.group("n") not in STOPWORDS_ALL and m.group("n") not in _NOT_ENTITIES \
                and not _LIGHT_VERBS.__contains__(m.group("n")):
            return m.group("n")
    words = ent.label.split()
    if len(words) > 1 and words[-1] not in ORG_SUFFIXES and words[-1].isalpha():
        return words[-1]
    return ""


def _canonical(qn: str, spans: list[tuple[int, int]], table: Mapping[str, str]) -> str:
    """``qn`` with each alias span replaced by its name, when the name is not shorter (a
    spelled-out "artificial general intelligence" stays; "msft" becomes "microsoft"); empty
    when nothing was replaced."""
    out, last = [], 0
    for a, b in sorted(spans):
        form = qn[a:b]
        name = table.get(form, form)
        out.append(qn[last:a])
        out.append(name if len(name) >= len(form) or " " in form and " " not in name
                   and len(form.split()) > 1 and not name.isupper() and len(name) > 4
                   else form)
        last = b
    out.append(qn[last:])
    canonical = "".join(out)
    return canonical if canonical != qn else ""  # nothing renamed: embed the question itself


_WHEN_VERB = re.compile(
    r"\b(?:when|what (?:year|date|day|month)|since when)\b(?:\s+[\w'-]+){0,8}?\s+"
    r"(?P<v>begin|began|begun|start|started|commence|commenced|launch|launched|open|opened|end|"
    r"ended|finish|finished|close|closed|expire|expires|found|founded|establish|established|"
    r"build|built|construct|constructed|sign|signed|commission|commissioned|inaugurated)\b")


_PASSIVE = re.compile(r"[a-z]+(?:ed|en)\b")
_DETERMINED = re.compile(r"\b(?:the|a|an)\s*$|'s?\s*$")
_AUX = AUXILIARIES
_ASKED = [
    re.compile(r"^\W*(?:(?:and|but|so|in|on|at|for|from|to|by|of|with|through|until)\s+)?"
               r"(?:which|what)\s+(?P<np>(?:[a-z][\w-]*\s+){0,2}?[a-z][\w-]*)\s+"
               rf"(?:{_AUX})\b"),
    # "What safety guardrails apply to ...": a two-word noun phrase, a verb and a preposition
    re.compile(r"^\W*(?:which|what)\s+(?!(?:" + _AUX + r")\b)(?P<np>[a-z][\w-]*\s+[a-z][\w-]*)\s+(?!(?:" + _AUX
               + r")\b)[a-z]+\s+(?:to|with|for|on|in|at|from|by|under|after|before)\b"),
]
# Names for how things relate rather than things: "OpenAI's role" is told as "OpenAI remains
# Microsoft's partner", without the word.
_RELATIONAL = frozenset(
    "role part status position relationship relation stance view situation approach response "
    "reaction future fate".split())


def _asked(qn: str) -> str | None:
    """The stem of the noun a what/which question asks for, when the question names one."""
    for pattern in _ASKED:
        m = pattern.match(qn)
        if m:
            np_ = re.split(r"\s(?:of|in|for|on|at|to|with|by|from)\s", f" {m.group('np')} ")[0]
            words = [w for w in np_.split() if w not in STOPWORDS_ALL]
            if words and not words[-1].isdigit() and words[-1] not in _RELATIONAL:
                return stem(words[-1])
    return None


_COPULA_Q = re.compile(r"^\W*(?:what|who|which)\s+(?:is|was|are|were)\s+[\w&.-]+'s?\s")
_POSSESSIVE = re.compile(r"(?P<e>[\w&.-]+)'s? (?P<np>(?:[\w-]+ ){0,3}?[\w-]+)(?= (?:" + _AUX
                         + r"|of|in|for|to|with|by|on|at|under|after|before|now|still|once|"
                         r"and|or)\b|\s*[?.!,]|$)")


def _possessed(q: str, qn: str, entities: list[Entity]) -> tuple[str, ...]:
    """What the question says a named entity has ("Microsoft's declaration of AGI" ->
    declaration): any of those words (or of a measure group one of them belongs to, "stake"
    told as "investment") must be in the evidence."""
    if _COPULA_Q.match(qn):
        return ()  # "What was Brown's job?" is answered by what he was, without the word
    for m in _POSSESSIVE.finditer(qn):
        owner = m.group("e")
        first = q[m.start("np"):].split(" ", 1)[0]
        if re.search(r"\bof\s+(?:the\s+)?$", qn[: m.start()]) \
                or first[:1].isupper() and not first.isupper():
            continue  # "the purpose of Loudoun's troops"; "Levi's Stadium" is a name
        if re.search(r"\b(?:before|after|until|since|following|prior to|during|once)\s+$",
                     qn[: m.start()]):
            continue  # "before OpenAI's funding rounds" says when, checked as time
        if not any(f.split()[-1] == owner for e in entities for f in e.forms):
            continue
        words = [w for w in m.group("np").split() if w not in STOPWORDS_ALL and not w.isdigit()
                 and not any(contains(w, f) for e in entities for f in e.forms)]
        if not words or any(w in _RELATIONAL for w in words):
            return ()
        out: list[str] = []
        for w in words:
            out.append(stem(w))
            group = next((g for g in _MEASURE_GROUPS if w in g), ())
            out += [g if not g.isalpha() or " " in g else stem(g) for g in group]
        return tuple(dict.fromkeys(out))
    return ()


_ROLE = [
    re.compile(r"(?P<e>(?:[A-Z][\w&.-]*|[a-z][\w&-]*)(?: [A-Z][\w&.-]*)*)['’]s?\b(?! \d)"),
    re.compile(r"^\W*(?i:(?:and|but|so)\s+)?(?i:(?:until|since|by|from|in|on|at|for|to|through)\s+)?"
               r"(?i:(?:what|which|how|who|where|when|why)\s+"
               r"(?:[\w-]+\s+){0,3})?"
               rf"(?i:{AUXILIARIES})\s+(?i:the\s+)?(?P<e>[\w&.-]+(?:\s[A-Z][\w&.-]*)*)"),
    re.compile(r"^(?P<e>[A-Z][\w&.-]*(?:\s[A-Z][\w&.-]*)*)\s+(?!is\b|are\b|was\b)[a-z]+s\b"),
    # "Who founded Tesla?": what a who-question asks about
    re.compile(r"^\W*(?i:who)\s+[a-z]+\s+(?:the\s+)?(?P<e>[A-Z][\w&.-]*(?:\s[A-Z][\w&.-]*)*)"),
]


def _role_spans(question: str) -> list[str]:
    """The phrases holding the question's subject or owner: "Amazon's", "does Amazon",
    "Microsoft holds ..."."""
    out = []
    for pattern in _ROLE:
        for m in pattern.finditer(question):
            out.append(m.group("e"))
    return out


_MARKUP = [
    (re.compile(r"(?is)<(script|style)\b.*?</\1\s*>"), " "),
    (re.compile(r"<[^>]{0,500}>"), " "),
    (re.compile(r"\[([^\]]{0,200})\]\([^)]{0,500}\)"), r"\1"),
    (re.compile(r"(?i)\b(?:https?|javascript|data|file):\S+"), " "),
]


def _plain(question: str) -> str:
    """The question without markup: tags, scripts, link targets and URLs are not what it
    asks about (their numbers and names must not become constraints)."""
    for pattern, repl in _MARKUP:
        question = pattern.sub(repl, question)
    return question


def _name_run(text: str, m: re.Match[str]) -> str:
    """Extend a capitalised word over the capitalised words that follow it ("OpenAI Group PBC")."""
    end = m.end()
    if re.search(r"['’]s?$", m.group()):
        return m.group()  # "Microsoft's IP": the possessive ends the name
    while True:
        nxt = re.match(r" ([A-Z][\w&'’.-]*[\w&]|[A-Z]|\d+\b(?![.,]\d))", text[end:])
        if not nxt:
            break
        end += nxt.end()
        if re.search(r"['’]s?$", nxt.group(1)):
            break
    return text[m.start():end]


def _clean_name(low: str) -> str:
    low = re.sub(r"'s\b|'$", "", low).strip(" .'")
    low = re.sub(r"-[a-z]+$", "", low)  # "Super Bowl-related" is about "Super Bowl"
    words = [w for w in low.split() if w not in _NOT_ENTITIES]
    return " ".join(words)


def _entity(label: str, table: Mapping[str, str], reverse: Mapping[str, set[str]]) -> Entity:
    forms = {label} | set(reverse.get(label, ()))
    words = label.split()
    if len(words) > 1 and words[-1] in ORG_SUFFIXES:
        head = " ".join(w for w in words if w not in ORG_SUFFIXES)
        if head:
            forms.add(head)
            forms |= set(reverse.get(head, ()))
    if label in table:
        forms.add(table[label])
    longs = frozenset(f for f in forms if " " in f and len(f) > len(label.split()[0]) + 2
                      and any(len(s) < len(f) for s in forms))
    return Entity(label=label, forms=frozenset(f for f in forms if f), long_forms=longs)


def _question_holder(qn: str, entities: list[Entity]) -> Entity | None:
    """The entity whose holding the question asks about, when it asks about one."""
    if not re.search(rf"\b(?:{POSSESS_VERBS}|own|hold|right|{POSSESS_NOUNS})\b", qn):
        return None
    for pattern in _Q_HOLDER:
        for m in pattern.finditer(qn):
            phrase = m.group("e")
            for ent in entities:
                if any(contains(phrase, f) for f in ent.forms):
                    return ent
    return None


_INNER_NAME = re.compile(r"(?<=[\w,;:)’'\"] )[A-Z][\w&-]*|\b[A-Za-z]*[a-z][A-Z][\w&-]*|\b[A-Z]{2,}\b")


def known_names(texts: Iterable[str]) -> set[str]:
    """Lower-cased names written inside sentences of ``texts`` (not at a sentence's start), so a
    lower-case "amazon" in a question can be read as the name the documents use."""
    out: set[str] = set()
    lower: set[str] = set()
    for text in texts:
        names_, words_ = _names_and_words(text or "")
        out |= names_
        lower |= words_
    return out - lower  # "University" is a name only if the texts never write "university"


@lru_cache(maxsize=PASSAGE_TEXT_CACHE)
def _names_and_words(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """One text's inner names and lower-case words (passages come back question after
    question: read each once)."""
    found = set()
    for m in _INNER_NAME.finditer(text):
        w = normalize(m.group()).strip("-")
        if len(w) > 1 and w not in STOPWORDS_ALL:
            found.add(w)
    return frozenset(found), frozenset(re.findall(r"(?<![\w-])[a-z][a-z-]+", text))
