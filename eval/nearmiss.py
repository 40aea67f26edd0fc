"""Near-miss variants: unanswerable twins of answerable questions (issue 13, point 3).

A near miss shares almost every word with a question the corpus answers, but asks about
something the gold passage does not state. Abstaining on it while still answering the original
is what separates "answers the question asked" from "finds a similar sentence". Kinds:

* ``entity`` - a name in the question (one the gold passage mentions) is swapped for another
  name of the same kind (organisation, place, other name) found elsewhere in the corpus;
* ``number`` - a number is swapped for another corpus number of the same format (count,
  percentage, money) and a similar magnitude;
* ``date`` - a year, decade or month is swapped for another one from the corpus;
* ``time_qualifier`` - "first"/"last", "before"/"after", "now"/"previously", "began"/"ended"...
  is flipped;
* ``missing_when`` / ``missing_count`` - the question is turned into a "When ..." /
  "How many times ..." question about a gold passage that holds no date / no number at all;
* ``stale`` - the same question asked as of the day before its gold document was published
  (dated corpora only): nothing known then says it, so an answer would come from the future or
  from an older document that does not hold the answer (issue 26).

A variant is kept only when it is unanswerable by construction: the new token (and, for
qualifiers, its synonyms) does not occur in the gold passage, the gold evidence or the reference
answers, and no corpus paragraph holds the new token together with most of the question's other
content words (a paragraph that might answer the variant). Swaps keep the question's answer
type (a "who" question stays a "who" question). Replacements come from the same document group
first (a SQuAD article, a JSONL document) so the variant stays on topic.

Everything here is a pure function of (samples, corpus, seed): each sample draws from its own
``random.Random`` seeded with (seed, sample id, kind), so a variant does not depend on which other
samples were passed. The generator never calls the answerer (it must not agree with it by
construction); the eval harness and the answer scorer's training data both use it.
"""

from __future__ import annotations

import logging
import random
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from eval.metrics import answer_contains, hit_at_k, wrong_subject
from eval.records import EvalSample
from rag.language.textrules import FULL_MONTHS, STOPWORDS_ALL

log = logging.getLogger(__name__)

KINDS = ("entity", "number", "date", "time_qualifier", "missing_when", "missing_count", "stale")
SWAP_KINDS = ("entity", "number", "date", "time_qualifier")  # keep the answer type
ELSEWHERE_SHARE = 0.6  # content words a paragraph must share with a variant to maybe answer it
MAX_TRIES = 25  # candidates checked per variant before giving up

# ---------------------------------------------------------------- vocabularies

# Capitalised words that start sentences or questions, not names.
_NOT_NAMES = STOPWORDS_ALL | frozenset(
    """however although though while because if unlike despite following besides today
    yesterday tomorrow mr mrs ms dr st""".split()
)
_CONNECTORS = frozenset("of the de du da del della der von van la le for".split())
_MONTHS = tuple(m.capitalize() for m in FULL_MONTHS.split("|"))
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_CALENDAR = frozenset(w.lower() for w in _MONTHS + _WEEKDAYS)
_ORG_WORDS = frozenset(
    """university college school institute institution company corporation corp inc ltd llc
    group party church council association society league club museum bank agency department
    ministry army navy committee foundation academy union board court parliament congress senate
    team records airlines airways press times news journal network commission office fund
    federation organization organisation brothers studios""".split()
)
_MODIFIERS = frozenset(
    """north south east west northern southern eastern western central new old great upper lower
    greater little saint holy united royal national first second third imperial fort port cape
    lake mount san santa los las el la le""".split()
)
_PLACE_WORDS = frozenset(
    """river mountain mountains mount lake city county state island islands ocean sea valley
    province street park bay kingdom republic empire desert coast peninsula region district
    square bridge harbor harbour canal""".split()
)

# Flips of time qualifiers; the replacement and its synonyms must be absent from the gold text.
_QUALIFIERS: dict[str, tuple[str, frozenset[str]]] = {
    k: (v, frozenset(s.split()))
    for k, v, s in [
        ("first", "last", "last final finally latest lastly"),
        ("last", "first", "first initial initially earliest firstly"),
        ("earliest", "latest", "latest last final most recent"),
        ("latest", "earliest", "earliest first initial"),
        ("before", "after", "after afterwards afterward following later subsequently"),
        ("after", "before", "before prior earlier previously preceding"),
        ("prior", "after", "after afterwards following later subsequently"),
        ("earlier", "later", "later after afterwards subsequently"),
        ("later", "earlier", "earlier before prior previously"),
        ("initially", "finally", "finally final last eventually later"),
        ("originally", "currently", "currently current now today presently"),
        ("currently", "originally", "originally original initially formerly first"),
        ("current", "former", "former formerly previous originally original"),
        ("former", "current", "current currently now present"),
        ("now", "previously", "previously formerly before earlier originally"),
        ("previously", "now", "now currently today presently"),
        ("formerly", "now", "now currently today presently"),
        ("next", "previous", "previous preceding prior before"),
        ("previous", "next", "next following subsequent after"),
        ("oldest", "newest", "newest youngest latest most recent"),
        ("newest", "oldest", "oldest earliest first"),
        ("began", "ended", "ended end ending ends finished"),
        ("begin", "end", "end ended ending ends finished"),
        ("started", "ended", "ended end ending ends finished"),
        ("start", "end", "end ended ending ends finished"),
        ("ended", "began", "began begin beginning started start"),
        ("opened", "closed", "closed close closing closure"),
        ("closed", "opened", "opened open opening"),
        ("founded", "dissolved", "dissolved disbanded abolished defunct"),
    ]
}

_NUMBER_WORDS = frozenset(
    """one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
    sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety
    hundred hundreds thousand thousands million millions billion billions trillion dozen dozens
    once twice thrice single several many few multiple numerous both couple half""".split()
)
_TIME_WORDS = frozenset(
    """century centuries decade decades bc ad bce ce spring summer autumn fall winter yesterday
    today tomorrow tonight""".split()
)
_PARTICIPLES = frozenset(
    """born built made written held known given taken won begun chosen seen done found sold
    shown drawn thrown grown worn torn sworn sung run hit set put cut led paid laid spent
    sent lost kept left brought bought taught thought""".split()
)

# ---------------------------------------------------------------- text helpers

_WORD = re.compile(r"[^\W_][\w'’.&-]*")
_TOKEN = re.compile(r"[^\W_]+")
_NUM = re.compile(r"(?<![\w.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w]|[.,]\d)|(?<![\w.,])\d+(?:\.\d+)?(?![\w]|[.,]\d)")
_YEAR = re.compile(r"(?<![\w.,$£€])(1[0-9]{3}|20[0-9]{2})(s?)(?![\w%]|[.,]\d)")
_ANY_DIGIT = re.compile(r"\d")
_SPACE = re.compile(r"\s+")
_QUESTION_HEAD = re.compile(
    r"^(?:(?:what|which)(?:\s+[\w'’-]+)?|who|whom|where|why)"
    r"\s+(did|does|do|has|have|had|was|were|is|are)\s+(.+?)[\s?.!]*$",
    re.I,
)
_EVENT_AUX = frozenset({"did", "has", "have", "had", "was", "were"})  # events happen n times
_STRANDED = re.compile(r"\s+(?:by|in|at|to|from|for|with|of|on|as)$", re.I)


def _fold(text: str) -> str:
    return _SPACE.sub(" ", text.replace("’", "'")).strip().lower()


def _holds(corpus: Corpus, patterns: list[re.Pattern[str]]) -> Callable[[int], bool]:
    """Whether paragraph ``pid`` of the corpus holds any of ``patterns``."""

    def holds(pid: int) -> bool:
        return any(p.search(corpus.folded[pid]) for p in patterns)

    return holds


def _pattern(term: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w])" + re.escape(_fold(term)) + r"(?![\w])")


def occurs(term: str, text: str) -> bool:
    """``term`` occurs in ``text`` as whole words (case, apostrophes and spacing folded)."""
    return bool(term.strip()) and bool(_pattern(term).search(_fold(text)))


def _num_forms(number: str) -> set[str]:
    """A number as written, and without/with thousands separators ("12,000" / "12000")."""
    plain = number.replace(",", "")
    forms = {number, plain}
    if "." not in plain and plain.isdigit() and len(plain) > 3:
        forms.add(f"{int(plain):,}")
    return forms


def _tokens(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(text.replace("’", "'"))]


def _stem(token: str) -> str:
    return token[:-1] if len(token) > 4 and token.endswith("s") and not token.endswith("ss") else token


def content_words(text: str, drop: Iterable[str] = ()) -> set[str]:
    """Lower-case content tokens (no stop words, no wh-words, no single letters)."""
    dropped = {_stem(t) for d in drop for t in _tokens(d)}
    return {
        _stem(t) for t in _tokens(text)
        if len(t) > 2 and t not in STOPWORDS_ALL and _stem(t) not in dropped
    }


def question_type(question: str) -> str:
    """The answer type a question asks for, from its wh-phrase (who/when/how many/...)."""
    q = _fold(question)
    for pattern, kind in [
        (r"\bhow many\b", "how many"),
        (r"\bhow much\b", "how much"),
        (r"\b(in )?what (year|month|day|date|century|decade|time)\b|\bwhen\b", "when"),
        (r"\bwho(m|se)?\b", "who"),
        (r"\bwhere\b", "where"),
        (r"\bwhy\b", "why"),
        (r"\bhow\b", "how"),
        (r"\bwhich\b", "which"),
        (r"\bwhat\b", "what"),
    ]:
        if re.search(pattern, q):
            return kind
    return "other"


# ---------------------------------------------------------------- extraction


def name_spans(text: str) -> list[tuple[str, int, bool]]:
    """Capitalised name spans as (name, start, sentence_initial), possessives stripped.

    "University of Notre Dame", "Beyoncé", "NFL"; leading function words ("The", "What"),
    months, weekdays, contractions and dotted tokens ("CBSSports.com") are not names.
    """
    out: list[tuple[str, int, bool]] = []
    current: list[tuple[str, int]] = []
    pending: list[tuple[str, int]] = []  # connectors waiting for a following capitalised word
    last_end = -1

    def initial(start: int) -> bool:
        before = text[:start].rstrip(" \t")
        return not before or before[-1] in ".!?:;\"“”\n•*–—-("

    def flush() -> None:
        while current and current[0][0].lower() in _NOT_NAMES | _CONNECTORS:
            current.pop(0)
        words = [w for w, _ in current]
        if words and not (len(words) == 1 and words[0].lower() in _CALENDAR):
            name = " ".join(words)
            if len(name) > 1 and not any(c.isdigit() for c in name):
                out.append((name, current[0][1], initial(current[0][1])))
        current.clear()
        pending.clear()

    for m in _WORD.finditer(text):
        raw = m.group()
        word = raw.rstrip(".'’-")
        for suffix in ("'s", "’s"):
            if word.endswith(suffix):
                word = word[: -len(suffix)]
        adjacent = last_end >= 0 and text[last_end:m.start()].strip() == ""
        if word and word[0].isupper() and not re.search(r"['’.]|-[a-z]", word):
            if current and not adjacent:
                flush()
            current.extend(pending)
            pending.clear()
            current.append((word, m.start()))
            if word != raw.rstrip("-"):  # possessive, or a full stop: the name ends here
                flush()
        elif current and adjacent and word.lower() in _CONNECTORS:
            pending.append((word, m.start()))
        else:
            flush()
        last_end = m.end()
    flush()
    return out


def entities(text: str, initial: bool = True) -> list[str]:
    """Name spans of ``text``; ``initial=False`` drops one-word names opening a sentence
    ("Similarly", "We"), which the corpus pools cannot tell from ordinary words."""
    return [n for n, _, first in name_spans(text) if initial or not first or " " in n]


_PLURAL_NOT = ("ss", "us", "is", "as", "os")


def entity_kind(name: str, with_article: bool = False) -> tuple[str, ...]:
    """What a name is, as far as its words tell: organisation/place/other, acronym, plural,
    demonym, and whether it is used with "the" (the Panthers, the Super Bowl: not a person).
    A swap keeps every part, so a team is not replaced by a person or a country by an adjective.
    """
    words = [w.lower() for w in name.split()]
    bag = set(words)
    base = "org" if bag & _ORG_WORDS else "place" if bag & _PLACE_WORDS else "name"
    last = words[-1]
    acronym = len(name.split()) == 1 and name.isupper()
    plural = not acronym and last.endswith("s") and not last.endswith(_PLURAL_NOT) and len(last) > 3
    demonym = len(words) == 1 and last.endswith(("ian", "ese", "ish", "ean", "ians", "eans"))
    return (base, "acronym" if acronym else "", "plural" if plural else "",
            "demonym" if demonym else "", "the" if with_article else "")


def number_class(text: str, start: int, end: int) -> str:
    """``percent``, ``money`` or ``count`` for the number at ``text[start:end]``."""
    before, after = text[max(0, start - 2):start], text[end:end + 9].lower()
    if re.match(r"\s?(%|percent|per cent)", after):
        return "percent"
    if re.search(r"[$£€¥]\s?$", before):
        return "money"
    return "count"


def numbers(text: str) -> list[tuple[str, str]]:
    """(number, class) pairs of the non-year numbers in ``text``."""
    years = {m.start(1) for m in _YEAR.finditer(text)}
    return [(m.group(), number_class(text, m.start(), m.end())) for m in _NUM.finditer(text)
            if m.start() not in years]


def years(text: str) -> list[str]:
    """Years ("1999") and decades ("1990s") in ``text``."""
    return [m.group(1) + m.group(2) for m in _YEAR.finditer(text)]


def months(text: str) -> list[str]:
    return [m for m in _MONTHS if re.search(rf"\b{m}\b", text)]


def has_date(text: str) -> bool:
    """Any year, month, weekday or period word: the text could answer a "when" question."""
    if _YEAR.search(text) or months(text) or any(re.search(rf"\b{d}\b", text) for d in _WEEKDAYS):
        return True
    return bool(set(_tokens(text)) & _TIME_WORDS)


def has_number(text: str) -> bool:
    """Any digit or number word: the text could answer a "how many" question."""
    return bool(_ANY_DIGIT.search(text)) or bool(set(_tokens(text)) & _NUMBER_WORDS)


# ---------------------------------------------------------------- corpus index


def _after_the(text: str, start: int) -> bool:
    before = text[max(0, start - 5):start].rstrip().lower()
    return before == "the" or before.endswith((" the", "\nthe"))


def _group(source: str) -> str:
    """Document group of a source: a SQuAD article ("Title#3" -> "Title"), else the source."""
    return source.rsplit("#", 1)[0] if "#" in source else source


def _paragraphs(text: str) -> list[str]:
    return [p for p in re.split(r"\n\s*\n", text) if p.strip()]


@dataclass
class Corpus:
    """Paragraphs of the corpus with the names, numbers and dates they hold, indexed once."""

    texts: dict[str, str]
    published: dict[str, str] = field(default_factory=dict)  # source -> YYYY-MM-DD (dated ones)
    paragraphs: list[tuple[str, str]] = field(default_factory=list)  # (source, text)
    folded: list[str] = field(default_factory=list)
    index: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    names: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # group -> names
    counts: dict[str, set[tuple[str, str]]] = field(default_factory=lambda: defaultdict(set))
    dates: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    the: dict[str, list[int]] = field(default_factory=dict)  # name -> [after "the", seen]
    people: set[str] = field(default_factory=set)  # names that look like people's
    _kinds: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, texts: Mapping[str, str], published: Mapping[str, str] | None = None) -> Corpus:
        corpus = cls(dict(texts), {s: d[:10] for s, d in (published or {}).items() if d})
        for source in sorted(texts):
            group = _group(source)
            for para in _paragraphs(texts[source]):
                pid = len(corpus.paragraphs)
                corpus.paragraphs.append((source, para))
                corpus.folded.append(_fold(para))
                for tok in set(_tokens(para)):
                    corpus.index[_stem(tok)].add(pid)
                for name, start, first in name_spans(para):
                    if first and " " not in name:
                        continue
                    corpus.names[group].add(name)
                    seen = corpus.the.setdefault(name, [0, 0])
                    seen[0] += _after_the(para, start)
                    seen[1] += 1
                corpus.counts[group].update(numbers(para))
                corpus.dates[group].update(years(para))
        # A person is named in full and then by surname ("Nikola Tesla" ... "Tesla"): a two-
        # or three-word name whose last word also stands alone, never after "the", or that
        # word. "Western Europe", "New York" are not: their first word is a modifier.
        bare = {n for n, (after_the, seen) in corpus.the.items()
                if " " not in n and 10 * after_the <= seen}
        full = {n for n in corpus.the if 1 < len(n.split()) <= 3 and n.split()[-1] in bare
                and n.split()[0].lower() not in _MODIFIERS | _CONNECTORS
                and entity_kind(n)[0] == "name"}
        corpus.people = full | {n.split()[-1] for n in full}
        return corpus

    def kind(self, name: str, context: str = "") -> tuple[str, ...]:
        """:func:`entity_kind`, "the"-usage from the corpus (else from ``context``)."""
        if name in self._kinds:
            return self._kinds[name]
        seen = self.the.get(name)
        if seen:
            article = 2 * seen[0] >= seen[1]
        else:
            at = context.find(name)
            article = at >= 0 and _after_the(context, at)
        kind = entity_kind(name, article)
        if kind[0] == "name" and not article and name in self.people:
            kind = ("person", *kind[1:])
        if seen:
            self._kinds[name] = kind
        return kind

    def source_of(self, wanted: str) -> str | None:
        """The stored source a sample's source id names (exact, or its trailing path part)."""
        if wanted in self.texts:
            return wanted
        matches = sorted(s for s in self.texts if s.endswith("/" + wanted))
        return matches[0] if matches else None

    def groups(self, sample_groups: set[str]) -> list[list[str]]:
        """Group lists to draw replacements from: the sample's own groups first, then all."""
        own = sorted(g for g in sample_groups if g in self.names or g in self.dates)
        return [own, sorted(self.names.keys() | self.dates.keys() | self.counts.keys())]

    def containing(self, terms: Iterable[str]) -> Iterable[int]:
        """Paragraphs holding every word of one of ``terms`` (all paragraphs when none given)."""
        terms = [t for t in terms if _tokens(t)]
        if not terms:
            return range(len(self.paragraphs))
        found: set[int] = set()
        for term in terms:
            sets = [self.index.get(_stem(t), set()) for t in _tokens(term)]
            found |= set.intersection(*sets)
        return sorted(found)

    def answerable_elsewhere(self, question: str, holds: Callable[[int], bool],
                             drop: Iterable[str] = ()) -> bool:
        """A paragraph that ``holds`` the new detail and shares most content words could answer.

        With at most one other content word ("Where was X located?"), any paragraph holding the
        new detail might answer: word overlap says nothing there.
        """
        words = content_words(question, drop)
        if len(words) <= 1:
            return any(holds(pid) for pid in self.containing(drop))
        hits: Counter[int] = Counter()
        for w in words:
            for pid in self.index.get(w, ()):
                hits[pid] += 1
        need = max(1, round(ELSEWHERE_SHARE * len(words)))
        return any(n >= need and holds(pid) for pid, n in hits.items())


# ---------------------------------------------------------------- gold text


def gold_text(sample: EvalSample, corpus: Corpus) -> str | None:
    """The text the answer is attached to: the gold paragraph(s), evidence and answers.

    With evidence, the paragraphs of the gold sources that hold it (the whole source when the
    evidence is in none of them); without, the whole gold sources (a SQuAD paragraph). None when
    the sample names no stored source and gives no evidence: nothing to check a swap against.
    """
    parts: list[str] = list(sample.evidence) + list(sample.references)
    found = False
    for wanted in sample.sources:
        source = corpus.source_of(wanted)
        if source is None:
            continue
        found = True
        text = corpus.texts[source]
        if sample.evidence:
            held = [p for p in _paragraphs(text)
                    if any(_fold(e) in _fold(p) for e in sample.evidence)]
            parts.extend(held or [text])
        else:
            parts.append(text)
    if not found and not sample.evidence:
        return None
    return "\n\n".join(parts)


# ---------------------------------------------------------------- variants


@dataclass(frozen=True)
class Swap:
    """One proposed variant: ``replaced`` in the question becomes ``replacement``."""

    kind: str
    question: str
    replaced: str
    replacement: str


def _replace_all(question: str, term: str, new: str) -> str:
    pattern = re.compile(r"(?<![\w])" + re.escape(term) + r"(?![\w])")
    return pattern.sub(lambda _m: new, question)


def _shuffled(rng: random.Random, items: Iterable[str]) -> list[str]:
    out = sorted(set(items))
    rng.shuffle(out)
    return out


def _entity_swap(sample: EvalSample, gold: str, corpus: Corpus, groups: set[str],
                 rng: random.Random) -> Swap | None:
    q = sample.question
    mine = [e for e in dict.fromkeys(entities(q))
            if e in corpus.the and occurs(e, gold) and not any(occurs(e, r) for r in sample.references)]
    if not mine:
        return None
    target = rng.choice(mine)
    kind, size = corpus.kind(target, q), len(target.split())
    for pool_groups in corpus.groups(groups):
        pool = {n for g in pool_groups for n in corpus.names.get(g, ())}
        fitting = [n for n in pool if corpus.kind(n) == kind and n.lower() not in _NOT_NAMES]
        same_size = [n for n in fitting if len(n.split()) == size]
        for candidates in (same_size, fitting):
            tries = 0
            for cand in _shuffled(rng, candidates):
                if occurs(cand, gold) or occurs(cand, q) or occurs(cand, target) or occurs(target, cand):
                    continue
                tries += 1
                if tries > MAX_TRIES:
                    break
                variant = _replace_all(q, target, cand)
                pat = _pattern(cand)
                if corpus.answerable_elsewhere(variant, _holds(corpus, [pat]),
                                               drop=[cand]):
                    continue
                return Swap("entity", variant, target, cand)
    return None


def _magnitude(number: str) -> float:
    try:
        return float(number.replace(",", ""))
    except ValueError:  # pragma: no cover - the regex only matches numbers
        return 0.0


def _similar(a: str, b: str) -> bool:
    x, y = _magnitude(a), _magnitude(b)
    if x <= 0 or y <= 0:
        return x == y == 0
    return max(x, y) / min(x, y) <= 10


def _number_absent(number: str, text: str) -> bool:
    return not any(occurs(f, text) for f in _num_forms(number))


_BOUND = (r"\b(?:less|lower|fewer|smaller|below|under|greater|more|higher|larger|bigger|"
          r"above|over|exceed(?:s|ed|ing)?)(?:\s+than)?\s*[$€£¥]?\s*[-−–]?\s*")


def _is_bound(number: str, question: str) -> bool:
    """A number the question compares with ("In which year was revenue less than 600?"):
    another bound asks another answerable question, not an unanswerable one."""
    return bool(re.search(_BOUND + re.escape(number) + r"(?![\d,.]*\d)", question,
                          re.IGNORECASE))


def _number_swap(sample: EvalSample, gold: str, corpus: Corpus, groups: set[str],
                 rng: random.Random) -> Swap | None:
    q = sample.question
    mine = [(n, c) for n, c in dict.fromkeys(numbers(q))
            if not any(occurs(n, r) for r in sample.references) and not _is_bound(n, q)]
    if not mine:
        return None
    target, cls = rng.choice(mine)
    for pool_groups in corpus.groups(groups):
        pool = {n for g in pool_groups for n, c in corpus.counts.get(g, ()) if c == cls}
        pool = {n for n in pool if ("." in n) == ("." in target)}
        close = [n for n in pool if _similar(n, target)]
        for candidates in (close, list(pool)):
            tries = 0
            for cand in _shuffled(rng, candidates):
                if _num_forms(cand) & _num_forms(target) or not _number_absent(cand, gold) \
                        or not _number_absent(cand, q):
                    continue
                tries += 1
                if tries > MAX_TRIES:
                    break
                variant = _replace_all(q, target, cand)
                forms = [_pattern(f) for f in _num_forms(cand)]
                if corpus.answerable_elsewhere(
                    variant, _holds(corpus, forms),
                    drop=[cand],
                ):
                    continue
                return Swap("number", variant, target, cand)
    return None


def _date_swap(sample: EvalSample, gold: str, corpus: Corpus, groups: set[str],
               rng: random.Random) -> Swap | None:
    q = sample.question
    refs = sample.references
    mine = [y for y in dict.fromkeys(years(q)) if not any(occurs(y, r) for r in refs)]
    mine += [m for m in months(q) if not any(occurs(m, r) for r in refs)
             and re.search(rf"(?:\b(?:in|of|on|by|since|until) {m}\b|\b{m},? \d)", q)]
    if not mine:
        return None
    target = rng.choice(mine)
    if target in _MONTHS:
        pools: list[list[str]] = [[m for m in _MONTHS if m != target]]
    else:
        decade = target.endswith("s")
        pools = []
        year = int(target[:4])
        for pool_groups in corpus.groups(groups):
            raw = {y for g in pool_groups for y in corpus.dates.get(g, ())}
            pool = {y[:3] + "0s" for y in raw} if decade else {y for y in raw if not y.endswith("s")}
            pools.append([y for y in pool if abs(int(y[:4]) - year) <= 50])
            pools.append(sorted(pool))
    for candidates in pools:
        tries = 0
        for cand in _shuffled(rng, candidates):
            if cand == target or occurs(cand, gold) or occurs(cand, q):
                continue
            if cand.endswith("s") and occurs(cand[:3], gold):  # a year of that decade is stated
                continue
            tries += 1
            if tries > MAX_TRIES:
                break
            variant = _replace_all(q, target, cand)
            pat = _pattern(cand)
            if corpus.answerable_elsewhere(variant, _holds(corpus, [pat]),
                                           drop=[cand]):
                continue
            return Swap("date", variant, target, cand)
    return None


def _match_case(word: str, new: str) -> str:
    return new[0].upper() + new[1:] if word[:1].isupper() else new


def _qualifier_swap(sample: EvalSample, gold: str, corpus: Corpus, groups: set[str],
                    rng: random.Random) -> Swap | None:
    q = sample.question
    present = [w for w in dict.fromkeys(_WORD.findall(q)) if w.lower() in _QUALIFIERS]
    rng.shuffle(present)
    for word in present:
        new, synonyms = _QUALIFIERS[word.lower()]
        if any(occurs(s, gold) for s in synonyms | {new}) or occurs(new, q):
            continue
        variant = _replace_all(q, word, _match_case(word, new))
        pats = [_pattern(s) for s in synonyms | {new}]
        if corpus.answerable_elsewhere(
            variant, _holds(corpus, pats),
            drop=sorted(synonyms | {new}),
        ):
            continue
        return Swap("time_qualifier", variant, word, _match_case(word, new))
    return None


def _detail_question(question: str, head: str, auxes: frozenset[str] = frozenset()) -> str | None:
    """Rewrite "What album did X release?" as f"{head} did X release?" (None: no clean rewrite)."""
    m = _QUESTION_HEAD.match(question.strip())
    if not m:
        return None
    aux, rest = m.group(1).lower(), m.group(2)
    if auxes and aux not in auxes:
        return None
    rest = _STRANDED.sub("", rest)
    words = rest.split()
    if len(words) < 2:
        return None
    if aux in {"was", "were", "is", "are"}:
        last = words[-1].lower()
        if not (last.endswith("ed") or last in _PARTICIPLES):
            return None
    return f"{head} {aux} {rest}?"


def _missing_detail(kind: str, sample: EvalSample, gold: str, corpus: Corpus) -> Swap | None:
    qtype = question_type(sample.question)
    if kind == "missing_when":
        if qtype == "when" or has_date(gold):
            return None
        variant = _detail_question(sample.question, "When")
        holds = has_date
    else:
        if qtype in {"how many", "how much"} or has_number(gold):
            return None
        variant = _detail_question(sample.question, "How many times", _EVENT_AUX)
        holds = has_number
    if variant is None:
        return None
    if corpus.answerable_elsewhere(variant, lambda pid: holds(corpus.paragraphs[pid][1])):
        return None
    return Swap(kind, variant, qtype, "when" if kind == "missing_when" else "how many")


_SWAPPERS = {
    "entity": _entity_swap,
    "number": _number_swap,
    "date": _date_swap,
    "time_qualifier": _qualifier_swap,
}


def variants_of(sample: EvalSample, corpus: Corpus, seed: int = 0,
                kinds: Sequence[str] = KINDS) -> list[EvalSample]:
    """The near-miss variants of one answerable sample, at most one per kind."""
    if not sample.answerable or sample.history:
        return []
    gold = gold_text(sample, corpus)
    if gold is None:
        return []
    groups = {_group(s) for w in sample.sources if (s := corpus.source_of(w))}
    out: list[EvalSample] = []
    for kind in kinds:
        if kind not in KINDS:
            raise ValueError(f"unknown near-miss kind {kind!r}; known: {', '.join(KINDS)}")
        rng = random.Random(f"{seed}:{sample.id}:{kind}")
        if kind == "stale":
            stale = _stale(sample, corpus)
            if stale is not None:
                out.append(stale)
            continue
        if kind in _SWAPPERS:
            swap = _SWAPPERS[kind](sample, gold, corpus, groups, rng)
        else:
            swap = _missing_detail(kind, sample, gold, corpus)
        if swap is None or _fold(swap.question) == _fold(sample.question):
            continue
        out.append(
            replace(
                sample,
                id=f"{sample.id}~{kind}",
                question=swap.question,
                references=[],
                answerable=False,
                sources=[],
                evidence=[],
                relevance={},
                tags=["near_miss", f"near_miss:{kind}", "unanswerable"],
                near_miss={
                    "kind": kind,
                    "original_id": sample.id,
                    "original_question": sample.question,
                    "replaced": swap.replaced,
                    "replacement": swap.replacement,
                },
            )
        )
    return out


def _stale(sample: EvalSample, corpus: Corpus) -> EvalSample | None:
    """The sample asked as of the day before its (first) gold document was published; None
    when a gold source is undated, or a document dated before that day (or undated) holds a
    reference answer: then the variant might be answerable."""
    gold = [s for w in sample.sources if (s := corpus.source_of(w))]
    if not gold or not sample.references or any(s not in corpus.published for s in gold):
        return None
    first = min(corpus.published[s] for s in gold)
    try:
        day = (date.fromisoformat(first) - timedelta(days=1)).isoformat()
    except ValueError:
        return None
    refs = [_fold(r) for r in sample.references if r.strip()]
    for source, text in corpus.texts.items():
        known = corpus.published.get(source, "")
        if (not known or known <= day) and any(r in _fold(text) for r in refs):
            return None
    return replace(
        sample, id=f"{sample.id}~stale", as_of=day, references=[], answerable=False,
        sources=[], evidence=[], relevance={},
        tags=["near_miss", "near_miss:stale", "unanswerable"],
        near_miss={"kind": "stale", "original_id": sample.id,
                   "original_question": sample.question,
                   "replaced": sample.as_of or "today", "replacement": day})


def make_near_misses(samples: Sequence[EvalSample], corpus: Mapping[str, str] | Corpus,
                     seed: int = 0, kinds: Sequence[str] = KINDS,
                     published: Mapping[str, str] | None = None) -> list[EvalSample]:
    """Near-miss variants of every answerable sample (in sample order, kinds in ``kinds`` order).

    ``corpus`` maps source ids to document text (a dataset's feed, or the store's documents);
    ``published`` their dates, where known (the ``stale`` kind needs them).
    """
    index = corpus if isinstance(corpus, Corpus) else Corpus.build(corpus, published)
    out: list[EvalSample] = []
    for sample in samples:
        out.extend(variants_of(sample, index, seed, kinds))
    log.info("near misses: %d variants of %d questions", len(out), len(samples))
    return out




# ---------------------------------------------------------------- scoring a run


def summarize(originals: Sequence[EvalSample], variants: Sequence[EvalSample],
              examples: int = 10) -> dict[str, object]:
    """The near-miss rows of a report: abstention on the variants (all and by kind) next to
    answer quality on the originals (false abstention, answer contains, hit@5, wrong subject),
    both over every answerable original and over the originals that have a variant."""
    def declined(r: EvalSample) -> float:
        return float(r.abstained and not r.error)

    def rate(values: list[float]) -> float | None:
        return round(sum(values) / len(values), 6) if values else None

    def quality(records: list[EvalSample]) -> dict[str, object]:
        return {
            "n": len(records),
            "false_abstention": rate([declined(r) for r in records]),
            "answer_contains": answer_contains(records),
            "hit@5": hit_at_k(records, 5),
            "wrong_subject": wrong_subject(records),
        }

    answerable = [r for r in originals if r.answerable]
    parents = {v.near_miss.get("original_id") for v in variants}
    by_kind: dict[str, dict[str, object]] = {}
    for kind in KINDS:
        subset = [v for v in variants if v.near_miss.get("kind") == kind]
        if subset:
            by_kind[kind] = {"n": len(subset), "abstention_rate": rate([declined(v) for v in subset])}
    answered = [v for v in variants if not v.abstained and not v.error]
    return {
        "variants": {"n": len(variants), "abstention_rate": rate([declined(v) for v in variants]),
                     "errors": sum(bool(v.error) for v in variants)},
        "by_kind": by_kind,
        "originals": quality(answerable),
        "originals_with_variants": quality([r for r in answerable if r.id in parents]),
        "answered_examples": [
            {"id": v.id, "kind": v.near_miss.get("kind", ""),
             "original_question": v.near_miss.get("original_question", ""),
             "question": v.question, "answer": v.answer,
             "quotes": [c.quote for c in v.citations]}
            for v in answered[:examples]
        ],
    }


__all__ = ["KINDS", "Corpus", "entities", "gold_text", "make_near_misses", "question_type",
           "summarize", "variants_of"]
