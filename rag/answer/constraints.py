"""What the question pins down, and whether a candidate sentence keeps to it.

An exact quote can still answer a different question: asked what Amazon owns, a sentence about
Microsoft's stake shares every other word. Before a sentence may answer, the constraints the
question states must hold in its *evidence*:

* **entities** - every name the question makes its subject or owner ("does Amazon own",
  "Amazon's stake"; case-insensitive, accents and aliases folded: "the CEO" is the chief executive,
  "PBC" is "public benefit corporation" when a document defines it) must be mentioned; a name that only
  scopes the question ("at Super Bowl 50") may also be the passage's topic (its other
  sentences, or a short title), and when it is nowhere the scorer weighs that, not a rule;
* **numbers** - every number or year the question gives must be there;
* **time** - a question about the past ("before", "previously", "originally") is not answered by
  a sentence marked as the present ("following", "now", "after") and vice versa;
* **ordinal** - "first", "last", "second" ... must be there (or a synonym);
* **role** - the holder the question asks about ("Amazon's stake", "does OpenAI hold") must not
  be replaced by another holder in the sentence ("Microsoft holds ...");
* **count** - "how many employees" needs a number next to "employees" (a sentence that
  mentions employees without counting them, or counts something else, does not answer);
* **measured** - "what percentage of its revenue" needs "revenue" in the sentence;
* **expansion** - "what does PBC stand for" needs the spelled-out form, not the acronym;
* **negation** - a wh-question about what is *not* so ("which investors are not included") is
  not answered by a sentence without a negation or exclusion.

Evidence is the sentence itself plus, only when the sentence refers back (a pronoun, or "the
company"/"the deal"-style definite description), the sentences before it in the same paragraph
of the same chunk. Headlines, other paragraphs and other passages never count: a name in the
headline does not make a sentence about someone else an answer. The answer *type* (a "how much"
question needs an amount) lives in rag/answer/answer_types.py and is checked separately.

Used by the extractive answerer (a failing sentence is never quoted) and by the LLM verifier (a
generated sentence whose cited span fails is removed and counted). The question is read into a
``Constraints`` by rag/answer/question.py (``parse``); each kind of constraint is one
``QuestionCheck`` class here, registered in ``CHECKS``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from rag.language.text import normalize, sentence_spans
from rag.language.textrules import ANAPHOR as _ANAPHOR
from rag.language.textrules import (
    FULL_MONTHS,
    NUMBER_WORDS,
    STOPWORDS_ALL,
    content_terms,
    numbers,
    snowball,
    stem,
)
from rag.language.voice import is_self_noun, speaks_as, speaks_as_self_noun
from rag.plugins import Registry

# ---- time, ordinals, anaphora ------------------------------------------------------------------
PAST = re.compile(
    r"\b(?:before|previously|prior to|formerly|originally|initially|at first|in the past|"
    r"until then)\b"
)
# A sentence stating a present state cannot answer a question about an earlier one.
_PRESENT_STATE = re.compile(r"\b(?:is|are|holds|has|owns|retains|keeps|remains|controls)\b")
PRESENT = re.compile(
    r"\b(?:now|currently|today|after|following|since|nowadays|at present|presently|still|"
    r"no longer|any ?more|latest|going forward|from now on)\b"
)
# A question about the past is answered by a sentence told in the past, or marked as earlier.
_PAST_TENSE = re.compile(r"\b(?:was|were|had|held|did|owned|used to|began|started|founded)\b")
# Ordinals a question selects with ("the first settlement"); "last" is left out (a verb, "last
# name"). Evidence may say it another way ("began", "the earliest", "inaugural").
ORDINALS: dict[str, str] = {
    "first": "first", "initial": "first", "earliest": "first", "original": "first",
    "inaugural": "first", "1st": "first", "began": "first", "begin": "first", "begun": "first",
    "started": "first", "starting": "first", "founded": "first", "debut": "first",
    "second": "second", "2nd": "second", "third": "third", "3rd": "third", "fourth": "fourth",
    "fifth": "fifth",
}
_ORDINAL = re.compile(r"\b(?:" + "|".join(sorted(ORDINALS, key=len, reverse=True)) + r")\b")
_PARAGRAPH = re.compile(r"\n\s*\n")
# A sentence whose subject is a definite description ("The new section is 5.6 kilometres long")
# is about something named before it.
_DEFINITE_SUBJECT = re.compile(r"\W*(?:The|This|These|Its) (?:[a-z][\w-]*\s+){0,2}[a-z][\w-]*\b")
MAX_TOPIC_TITLE_WORDS = 5  # a longer title is a headline: its names are not the document's topic
# Entries of the caches keyed by passage text (folded passages, the text a sentence leans on):
# an ask reads 100-200 sentences, so this holds about ten asks; 8192 held a server's RSS
# ~30 MB higher for no measured speed (BENCHMARKS.md, "A server's memory").
PASSAGE_CACHE = 2048
# Entries of the caches keyed by a whole passage (its names and words: question.py,
# informal.py): an ask reads its k passages, so this holds about a hundred asks; 4096 kept
# ~9 MiB more in a server after 200 asks (BENCHMARKS.md, "A server without the chat").
PASSAGE_TEXT_CACHE = 512
_NUMBER_WORD = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|"
    r"eighty|ninety|hundred|hundreds|thousand|thousands|million|millions|billion|billions|"
    r"dozen|dozens|single|zero|half|once|twice|several|many|few|numerous|hundreds|thousands|"
    r"millions|infinitely"
)
_COMPOUND = re.compile(r"\w+(?:-\w+)+")


@lru_cache(maxsize=4096)
def _stems(text: str) -> frozenset[str]:
    """Stems of the words of folded text, hyphenated compounds both whole and in parts
    ("for-profit": for-profit, forprofit, for, profit), so a question's "for-profit",
    "non-API" or "second-largest" finds the same word in the evidence."""
    found = {stem(w) for w in re.findall(r"\w+", text)}
    for m in _COMPOUND.finditer(text):
        found.add(stem(m.group()))
        found.add(stem(m.group().replace("-", "")))
    return frozenset(found)
_NEGATION = re.compile(
    r"\b(?:not|no|never|none|nor|neither|without|cannot|except|excluding|excluded|excludes?|"
    r"exempt|other than|apart from|no longer|lack|lacks|lacking|outside|opposed|opposes|"
    r"against|refused|refuses|rejected|rejects|failed|fails|less|unlike|instead|rather than|"
    r"n't)\b|n't\b"
)



# Verbs that say the same role in other words ("leads" is told as "is coordinated by"). "run"
# is left out of leading: "run by the Friends of the Library" names the body, not the lead.
VERB_GROUPS: tuple[frozenset[str], ...] = (
    frozenset("lead head coordin direct chair manag overse supervis"
              .split()),
    frozenset("begin began begun start commenc launch found establish creat".split()),
    frozenset("end finish conclud close expir termin".split()),
    frozenset("build built construct erect".split()),
    frozenset("sign agre conclud".split()),
    frozenset("commiss inaugur".split()),
)


# An end is also told by its limit ("exclusivity until AGI"), a beginning by its start.
_EVENT_BOUND: dict[int, re.Pattern[str]] = {
    1: re.compile(r"\b(?:since|from)\b"),
    2: re.compile(r"\b(?:until|till|through|expir\w*|whichever occurs)\b"),
}
_NEVER = re.compile(r"(?!)")


def _event_group(verb_stem: str) -> int:
    return next((i for i, g in enumerate(VERB_GROUPS) if verb_stem in g
                 or stem(verb_stem) in g), -1)


def _verb_forms(verb_stem: str) -> set[str]:
    forms = {verb_stem, stem(verb_stem)}
    for group in VERB_GROUPS:
        if forms & group:
            forms |= group
    return forms


def _has_verb(verb_stem: str, s_norm: str) -> bool:
    """The verb's stem, a verb of the same group, or a noun made from one ("leader",
    "designer", "chair"), in the text ("led" counts for "lead", "won" for "win", "overseen"
    for "oversee")."""
    forms = _verb_forms(verb_stem)
    made = {f + suffix for f in forms
            for suffix in ("er", "or", "ership", "e", "ed", "ing", "en", "n", "ion")}
    for w in re.findall(r"[a-z]+", s_norm):
        for st in (snowball(w), stem(w)):
            if st in forms or st in made:
                return True
    return False

# Possession: "X holds/owns", "X's stake".
POSSESS_VERBS = (r"holds?|held|holding|owns?|owned|owning|controls?|controlled|invested|invests?|"
                  r"keeps?|kept|retains?|retained")
POSSESS_NOUNS = r"stake|stakes|share|shares|holding|holdings|investment|ownership|equity|rights"


@dataclass(frozen=True)
class Entity:
    """A name the question gives; any of ``forms`` (lower-case) in the evidence satisfies it."""

    label: str
    forms: frozenset[str]
    long_forms: frozenset[str] = frozenset()  # spelled-out forms, when the label is an acronym
    # The question makes it the subject or owner ("does Amazon own", "Amazon's stake"): only
    # the sentence (or what it refers back to) can name it. Other names only scope the
    # question ("at Super Bowl 50") and may be the passage's topic instead.
    role: bool = True
    # The noun the name is the modifier or last word of ("solar" in "the solar array" ->
    # "array", "Home Delivery Service" -> "service"): "the array" in a passage that names it
    # refers to it.
    head: str = ""

    def found_in(self, text_norm: str) -> bool:
        return any(contains(text_norm, f) for f in self.forms)


@dataclass(frozen=True)
class Check:
    """Whether a sentence keeps to the question's constraints, and which ones it breaks."""

    ok: bool
    failed: tuple[str, ...] = ()
    entities_found: int = 0
    entities_total: int = 0
    anaphoric: bool = False  # needed the preceding sentences to find an entity
    scope_missing: int = 0  # names that only scope the question and are nowhere in the passage

    @classmethod
    def passed(cls) -> Check:
        return cls(ok=True)

    @property
    def entity_coverage(self) -> float:
        return self.entities_found / self.entities_total if self.entities_total else 1.0


@dataclass
class Constraints:
    """The constraints of one (standalone) question."""

    question: str
    entities: list[Entity] = field(default_factory=list)
    numbers: set[str] = field(default_factory=set)
    time: str | None = None  # "past" | "present"
    ordinal: str | None = None
    count_noun: str | None = None  # stem
    measured: str | None = None  # stem of X in "what percentage of X": X must be in the evidence
    measure: tuple[str, ...] = ()  # "what stake"/"how much is its investment": one of these words
    expansion: bool = False  # "what does PBC stand for": the long form must be there
    focus: str | None = None  # stem of the role asked about: "who is the chief executive"
    focus_alt: str | None = None  # its short form ("ceo")
    verb: str | None = None  # "who leads the project": the sentence must say who *leads* it
    negated: bool = False  # "which ... are not included": a positive statement doesn't answer
    holder: Entity | None = None
    # "What capability criteria must ...": a sentence that only repeats the asked noun
    # ("... models that meet capability criteria.") names no criteria.
    asked: str | None = None  # stem of the noun a what/which question asks for
    # "Who will verify Microsoft's declaration?": what the named holder has must be there too.
    possessed: tuple[str, ...] = ()  # stems (with their measure group's words, when any)
    # The question with short forms and epithets written as the name they stand for ("how much
    # of oai does msft own" -> "... of openai does microsoft own"): what is embedded, so the
    # model sees the names the documents use.
    canonical: str = ""
    event: str | None = None  # "when did construction begin": a date of *beginning*
    months: set[str] = field(default_factory=set)  # "in July": an August figure doesn't answer
    _checks: list[QuestionCheck] | None = field(default=None, repr=False, compare=False)

    @property
    def empty(self) -> bool:
        return not (self.entities or self.numbers or self.time or self.ordinal
                    or self.count_noun or self.holder or self.measured or self.negated)

    # ---- checking ------------------------------------------------------------------------------
    def checks(self) -> list[QuestionCheck]:
        """One check per constraint this question states, in the order they report (built
        once)."""
        if self._checks is None:
            self._checks = [chk for make in CHECKS.values() if (chk := make(self)) is not None]
        return self._checks

    def check(self, sentence: str, context: str = "", topic: str = "", title: str = "",
              voice: str = "", skip: frozenset[str] = frozenset(),
              published: str = "") -> Check:
        """Does ``sentence`` (with ``context``: the text before it in its passage) keep to the
        question? The preceding sentences of the same paragraph count when the sentence refers
        back to them. ``topic`` (the passage's title and its other sentences, headlines left
        out) may supply a name that only scopes the question, never its subject or owner. A
        short ``title`` (an encyclopedia-style topic such as "Super Bowl 50", not a headline)
        names what the whole document is about, so it counts for any name. ``voice`` names whom
        the document's "we" and "the Company" mean (rag/language/voice.py): a sentence in that voice
        counts for those names. ``published`` (the document's ISO date) dates the sentence's
        "next year", "last year" and "this year". The checks of the kinds in ``skip`` are not run (eval
        measures what each one does)."""
        ev = Evidence.of(sentence, context, topic, title, voice, published)
        failed: list[str] = []
        names = Verdict()
        for chk in self.checks():
            if chk.kind in skip:
                continue
            verdict = chk.check(ev)
            failed += verdict.failed
            if chk.kind == "entity":
                names = verdict
        return Check(ok=not failed, failed=tuple(failed), entities_found=names.found,
                     entities_total=len(self.entities), anaphoric=names.anaphoric,
                     scope_missing=names.scope_missing)


# ---- the checks: one class per kind of constraint ------------------------------------------------
@dataclass(frozen=True)
class Evidence:
    """A candidate sentence and the text around it that may supply what it leaves implicit,
    normalised once for every check."""

    sentence: str
    context: str  # the passage's text before the sentence
    topic: str  # the passage outside the sentence, headlines left out
    title: str
    voice: str  # whom the document's "we" means
    s_norm: str
    ctx_norm: str  # the earlier sentences the sentence refers back to, if it does
    cont_norm: str  # the sentence it continues, when it refers back to none
    topic_norm: str
    title_norm: str  # a short title (a topic, not a headline), else ""
    published: str = ""  # its document's ISO date ("next year" is read against it)

    @classmethod
    def of(cls, sentence: str, context: str = "", topic: str = "", title: str = "",
           voice: str = "", published: str = "") -> Evidence:
        ctx_norm = antecedent_text(sentence, context)
        return cls(sentence, context, topic, title, voice, normalize(sentence), ctx_norm,
                   "" if ctx_norm else continued_text(sentence, context),
                   normalize(topic) if topic else "",
                   normalize(title) if title and len(title.split()) <= MAX_TOPIC_TITLE_WORDS
                   else "", published)


_RELATIVE_YEAR = re.compile(r"\b(next|last|this) year\b")
_YEAR_SHIFT = {"next": 1, "last": -1, "this": 0}


def dated_years(s_norm: str, published: str) -> frozenset[str]:
    """The years a sentence of a dated document names by "next year", "last year" or "this
    year": "will headline the halftime show next year" in an article of September 2024 is
    about 2025. A sentence that says no such thing is not taken to speak of its document's
    year: on RealTime QA that answered questions about 2023 from older articles
    (BENCHMARKS.md, "Two rules measured on news")."""
    if not published[:4].isdigit():
        return frozenset()
    year = int(published[:4])
    return frozenset(str(year + _YEAR_SHIFT[m.group(1)]) for m in _RELATIVE_YEAR.finditer(s_norm))


@dataclass
class Verdict:
    """What one check found: its failures as "kind:detail" (rag/answer/checks.py says which
    kinds veto and which only weigh), and for the name check how the names were found."""

    failed: list[str] = field(default_factory=list)
    found: int = 0
    anaphoric: bool = False
    scope_missing: int = 0


class QuestionCheck:
    """One constraint of the question, built from it (``make`` returns None when the question
    does not state it); ``check`` tells whether a sentence keeps to it."""

    kind: str = ""

    @classmethod
    def make(cls, c: Constraints) -> QuestionCheck | None:
        raise NotImplementedError

    def check(self, ev: Evidence) -> Verdict:
        raise NotImplementedError


@dataclass
class NameCheck(QuestionCheck):
    """Every name the question gives is in the sentence, the sentences it refers back to, a
    passage naming what "the array" is, the passage's topic (names that only scope), a short
    title, or the document's own voice; with "stand for", the spelled-out form."""

    entities: list[Entity]
    expansion: bool
    kind: str = "entity"

    @classmethod
    def make(cls, c: Constraints) -> NameCheck | None:
        return cls(c.entities, c.expansion) if c.entities else None

    def check(self, ev: Evidence) -> Verdict:
        v = Verdict()
        s_norm, ctx_norm, cont_norm = ev.s_norm, ev.ctx_norm, ev.cont_norm
        for ent in self.entities:
            if self.expansion and ent.long_forms:
                if any(contains(s_norm, f) for f in ent.long_forms):
                    v.found += 1
                else:
                    v.failed.append(f"expansion:{ent.label}")
            elif ent.found_in(s_norm):
                v.found += 1
            elif ctx_norm and ent.found_in(ctx_norm):
                v.found += 1
                v.anaphoric = True
            elif cont_norm and ent.found_in(cont_norm):
                v.found += 1
                v.anaphoric = True
            elif ent.head and re.search(rf"\b(?:the|this|its) (?:[a-z-]+ )?{re.escape(ent.head)}"
                                        rf"(?:s|es)?\b", s_norm) \
                    and any(ent.found_in(t) for t in (ev.topic_norm, normalize(ev.title or ""),
                                                      normalize(ev.context))):
                v.found += 1  # "The array was commissioned ...", in a passage naming the array
                v.anaphoric = True
            elif (not ent.role and ev.topic_norm and ent.found_in(ev.topic_norm)) \
                    or (ev.title_norm and ent.found_in(ev.title_norm)):
                v.found += 1
                v.anaphoric = True
            elif ev.voice and ent.found_in(normalize(ev.voice)) and speaks_as(ev.sentence):
                v.found += 1  # "We employed 1,480 people" in Acme's own report
                v.anaphoric = True
            elif is_self_noun(ent.label) and speaks_as_self_noun(ev.sentence, ent.label):
                v.found += 1  # "the company's accrued interest": "We had $3.0 million of ..."
                v.anaphoric = True
            elif not ent.role:
                v.scope_missing += 1  # only scopes the question: weighed by the scorer
            else:
                v.failed.append(f"entity:{ent.label}")
        return v


@dataclass
class NumberCheck(QuestionCheck):
    """Every number the question gives is in the sentence or what it refers back to. A year
    that only scopes the question ("the 2015 NFL MVP") must be there too: the passage's other
    sentences giving it was tried, and answered "What stake did Microsoft hold in 2019?" with
    the stake before 2025 (BENCHMARKS.md)."""

    numbers: set[str]
    kind: str = "number"

    @classmethod
    def make(cls, c: Constraints) -> NumberCheck | None:
        return cls(c.numbers) if c.numbers else None

    def check(self, ev: Evidence) -> Verdict:
        have = numbers_in(ev.s_norm) | numbers_in(ev.ctx_norm)
        # "amounting to US$261,518 (2018: US$283,752)": the figure beside last year's is
        # this year's, as a report writes its comparatives
        have |= {str(int(y) + 1) for y in _COMPARATIVE.findall(ev.s_norm)}
        have |= dated_years(ev.s_norm, ev.published)  # only questions that give a number
        return Verdict([f"number:{n}" for n in sorted(self.numbers - have)])


@dataclass
class TimeCheck(QuestionCheck):
    """A question about before is not answered by a present state, nor one about now by a
    sentence told only of the past."""

    time: str
    kind: str = "time"

    @classmethod
    def make(cls, c: Constraints) -> TimeCheck | None:
        return cls(c.time) if c.time else None

    def check(self, ev: Evidence) -> Verdict:
        s_norm = ev.s_norm
        past, present = bool(PAST.search(s_norm)), bool(PRESENT.search(s_norm))
        if self.time == "past" and not (past or _PAST_TENSE.search(s_norm)) \
                and _PRESENT_STATE.search(s_norm) \
                or self.time == "past" and present and not past:
            return Verdict(["time:past"])
        if self.time == "present" and past and not present:
            return Verdict(["time:present"])
        return Verdict()


@dataclass
class OrdinalCheck(QuestionCheck):
    """ "The second ..." needs the sentence's own ordinal."""

    ordinal: str
    kind: str = "ordinal"

    @classmethod
    def make(cls, c: Constraints) -> OrdinalCheck | None:
        return cls(c.ordinal) if c.ordinal else None

    def check(self, ev: Evidence) -> Verdict:
        have = {ORDINALS[m.group()] for m in _ORDINAL.finditer(ev.s_norm)}
        return Verdict([] if self.ordinal in have else [f"ordinal:{self.ordinal}"])


@dataclass
class CountCheck(QuestionCheck):
    """ "How many X" needs a count of X."""

    noun: str
    kind: str = "count"

    @classmethod
    def make(cls, c: Constraints) -> CountCheck | None:
        return cls(c.count_noun) if c.count_noun else None

    def check(self, ev: Evidence) -> Verdict:
        return Verdict([] if _counted(self.noun, ev.s_norm) else [f"count:{self.noun}"])


@dataclass
class FocusCheck(QuestionCheck):
    """ "Who is the chief executive" needs the role (or its short form) in the sentence."""

    focus: str
    alt: str | None
    kind: str = "focus"

    @classmethod
    def make(cls, c: Constraints) -> FocusCheck | None:
        return cls(c.focus, c.focus_alt) if c.focus else None

    def check(self, ev: Evidence) -> Verdict:
        if any(st.startswith(self.focus) for st in _stems(ev.s_norm)) \
                or (self.alt and contains(ev.s_norm, self.alt)):
            return Verdict()
        return Verdict([f"focus:{self.focus}"])


@dataclass
class VerbCheck(QuestionCheck):
    """ "Who leads the project" needs a sentence that says who *leads* it."""

    verb: str
    kind: str = "verb"

    @classmethod
    def make(cls, c: Constraints) -> VerbCheck | None:
        return cls(c.verb) if c.verb else None

    def check(self, ev: Evidence) -> Verdict:
        return Verdict([] if _has_verb(self.verb, ev.s_norm) else [f"verb:{self.verb}"])


@dataclass
class EventCheck(QuestionCheck):
    """ "When did construction begin" is not answered by when it opened."""

    event: str
    kind: str = "event"

    @classmethod
    def make(cls, c: Constraints) -> EventCheck | None:
        return cls(c.event) if c.event else None

    def check(self, ev: Evidence) -> Verdict:
        if _has_verb(self.event, ev.s_norm) \
                or _EVENT_BOUND.get(_event_group(self.event), _NEVER).search(ev.s_norm):
            return Verdict()
        return Verdict([f"event:{self.event}"])


@dataclass
class MonthCheck(QuestionCheck):
    """ "In July": an August figure doesn't answer."""

    months: set[str]
    kind: str = "month"

    @classmethod
    def make(cls, c: Constraints) -> MonthCheck | None:
        return cls(c.months) if c.months else None

    def check(self, ev: Evidence) -> Verdict:
        have = set(MONTH.findall(ev.s_norm)) | set(MONTH.findall(ev.ctx_norm))
        return Verdict([f"month:{m}" for m in sorted(self.months - have)])


@dataclass
class MeasureCheck(QuestionCheck):
    """ "What stake" / "how much is its investment": one of the measure's words is there."""

    words: tuple[str, ...]
    kind: str = "measure"

    @classmethod
    def make(cls, c: Constraints) -> MeasureCheck | None:
        return cls(c.measure) if c.measure else None

    def check(self, ev: Evidence) -> Verdict:
        s_norm = ev.s_norm
        if any(w in s_norm if not w[:1].isalpha() else contains(s_norm, w) for w in self.words):
            return Verdict()
        return Verdict([f"measure:{self.words[0]}"])


@dataclass
class NegationCheck(QuestionCheck):
    """ "Which ... are not included": a positive statement doesn't answer."""

    kind: str = "negation"

    @classmethod
    def make(cls, c: Constraints) -> NegationCheck | None:
        return cls() if c.negated else None

    def check(self, ev: Evidence) -> Verdict:
        return Verdict([] if _NEGATION.search(ev.s_norm) else ["negation"])


@dataclass
class MeasuredCheck(QuestionCheck):
    """ "What percentage of X": X must be in the sentence."""

    measured: str
    kind: str = "measured"

    @classmethod
    def make(cls, c: Constraints) -> MeasuredCheck | None:
        return cls(c.measured) if c.measured else None

    def check(self, ev: Evidence) -> Verdict:
        ok = self.measured in _stems(ev.s_norm)
        return Verdict([] if ok else [f"measured:{self.measured}"])


@dataclass
class ExpansionCheck(QuestionCheck):
    """ "What does PBC stand for", no spelled-out form known: the sentence must define one."""

    kind: str = "expansion"

    @classmethod
    def make(cls, c: Constraints) -> ExpansionCheck | None:
        return cls() if c.expansion and not any(e.long_forms for e in c.entities) else None

    def check(self, ev: Evidence) -> Verdict:
        return Verdict([] if _DEFINES.search(ev.s_norm) else ["expansion"])


@dataclass
class SpecifiedCheck(QuestionCheck):
    """ "What capability criteria must ...": a sentence that only repeats the asked noun names
    no criteria."""

    asked: str
    question: str
    kind: str = "unspecified"

    @classmethod
    def make(cls, c: Constraints) -> SpecifiedCheck | None:
        return cls(c.asked, c.question) if c.asked else None

    def check(self, ev: Evidence) -> Verdict:
        ok = _specified(self.asked, ev.s_norm, self.question)
        return Verdict([] if ok else [f"unspecified:{self.asked}"])


@dataclass
class PossessedCheck(QuestionCheck):
    """ "Who will verify Microsoft's declaration?": what the named holder has is there too."""

    possessed: tuple[str, ...]
    kind: str = "possessed"

    @classmethod
    def make(cls, c: Constraints) -> PossessedCheck | None:
        return cls(c.possessed) if c.possessed else None

    def check(self, ev: Evidence) -> Verdict:
        stems = _stems(ev.s_norm) | _stems(ev.ctx_norm)
        if any(p in stems or (" " in p or not p.isalpha()) and contains(ev.s_norm, p)
               for p in self.possessed):
            return Verdict()
        return Verdict([f"possessed:{self.possessed[0]}"])


@dataclass
class HolderCheck(QuestionCheck):
    """The holder of a stake or right is the one the question names, not another party."""

    holder: Entity
    kind: str = "role"

    @classmethod
    def make(cls, c: Constraints) -> HolderCheck | None:
        return cls(c.holder) if c.holder is not None else None

    def check(self, ev: Evidence) -> Verdict:
        other = _other_holder(self.holder, ev.s_norm, ev.ctx_norm)
        return Verdict([f"role:{other}"] if other else [])


CheckFactory = Callable[["Constraints"], "QuestionCheck | None"]


def _check_factory(obj: object) -> CheckFactory:
    """A registration holds a QuestionCheck class (its ``make`` is used) or a factory."""
    make = getattr(obj, "make", obj)
    if not callable(make):
        raise TypeError(f"expected a QuestionCheck class or a factory (constraints) -> check, "
                        f"got {obj!r}")
    return make


#: every check by kind, built-ins first in the order their failures are reported; a package adds
#: its own under the ``citewise.checks`` entry point (its kinds only weigh: rag/answer/checks.py
#: lets only measured kinds veto)
CHECKS: Registry[CheckFactory] = Registry("question check", "citewise.checks",
                                          coerce=_check_factory)
for _check in (NameCheck, NumberCheck, TimeCheck, OrdinalCheck, CountCheck, FocusCheck, VerbCheck,
               EventCheck, MonthCheck, MeasureCheck, NegationCheck, MeasuredCheck, ExpansionCheck,
               SpecifiedCheck, PossessedCheck, HolderCheck):
    CHECKS.add(_check.kind, _check.make)
MONTH = re.compile(rf"\b(?:{'|'.join(m for m in FULL_MONTHS.split('|') if m != 'may')})\b")
# Words before the asked noun that point at what specifies it elsewhere ("these rights") or
# that are themselves the answer ("any cloud provider").
_POINTERS = frozenset("these those such this any all every each both no other".split())
_SPECIFIERS = frozenset(
    "such including include includes like namely : ( of from in at on to into towards toward "
    "for with by over under between against as named called dubbed known is are was were - "
    "a an the".split())
_CLAUSE_END = re.compile(r"[.;:!?()\[\]\"]|,|\s-\s")


def _specified(asked: str, s_norm: str, question: str) -> bool:
    """Does the sentence say *which* or *what* the asked noun is, rather than only repeat it?
    True when the sentence lacks the noun (the scorer weighs that), or when next to one of its
    mentions, within its clause, stands a word the question does not have (a name, a number,
    a content word), or a pointer ("these", "any")."""
    tokens = re.findall(r"\$?\d[\d,.]*%?|[a-z][\w'-]*|[^\w\s]", s_norm)
    stems = [stem(t) if t[0].isalpha() else t for t in tokens]
    hits = [i for i, st in enumerate(stems) if st == asked]
    if not hits:
        return True
    q_stems = {stem(w) for w in re.findall(r"[a-z][\w'-]*", normalize(question))}

    def new(i: int) -> bool:
        t = tokens[i]
        if t[0].isdigit() or t[0] == "$":
            return True
        return t[0].isalpha() and t not in STOPWORDS_ALL and stems[i] not in q_stems

    for i in hits:
        before: list[int] = []
        j = i - 1
        limit = 3
        while j >= 0 and len(before) < limit and not _CLAUSE_END.fullmatch(tokens[j]):
            before.append(j)
            if tokens[j] in {"is", "are", "was", "were"}:
                limit = len(before) + 2  # "Mercury is the working fluid": its subject names it
            j -= 1
        if any(tokens[k] in _POINTERS for k in before):
            return True
        after: list[int] = []
        j = i + 1
        if j < len(tokens) and tokens[j] == "," and j + 1 < len(tokens) \
                and tokens[j + 1] in {"a", "an", "the", "such", "including", "namely", "like"}:
            j += 1  # an appositive: "the criteria, a set of ..."
        # Only what modifies the noun specifies it ("criteria such as ...", "thresholds of
        # 10^26 FLOPs", "a panel of experts"), not the verb it is the subject of ("third
        # parties will remain ...").
        if j < len(tokens) and (tokens[j] in _SPECIFIERS or tokens[j][0].isdigit()):
            while j < len(tokens) and len(after) < 4 and not _CLAUSE_END.fullmatch(tokens[j]):
                after.append(j)
                j += 1
        if any(new(k) for k in before + after):
            return True
    return False


_DEFINES = re.compile(r"\b[a-z][\w-]+(?: [\w-]+){0,5} \([a-z&.]{2,8}\)|\b[a-z&.]{2,8} \(([a-z][\w-]+ ){1,5}"
                      r"[\w-]+\)|\bstands? for\b|\bshort for\b")


@lru_cache(maxsize=PASSAGE_CACHE)
def _fold(text: str) -> str:
    """Accents off ("Céloron" matches "Celoron"). Only the distinct characters are tested (a
    test of every character in Python was ~4% of a warm ask on news passages, which are
    rarely ASCII: curly quotes)."""
    nfd = unicodedata.normalize("NFD", text)
    if nfd.isascii():
        return nfd
    marks = [ch for ch in set(nfd) if unicodedata.combining(ch)]
    return nfd.translate(dict.fromkeys(map(ord, marks))) if marks else nfd


def contains(text_norm: str, form: str) -> bool:
    """``form`` as a whole word or phrase of ``text_norm``: accents folded, a plural acronym
    allowed ("PPPs"), and a long single name by its adjective ("Germany" ~ "German")."""
    text_norm = _fold(text_norm)
    exact, adjective = _form_patterns(form)
    if exact.search(text_norm):
        return True
    return adjective is not None and adjective.search(text_norm) is not None


@lru_cache(maxsize=8192)
def _form_patterns(form: str) -> tuple[re.Pattern[str], re.Pattern[str] | None]:
    """The compiled patterns ``contains`` looks for (compiled once per form)."""
    form = _fold(form)
    # "IFRS9" is "IFRS 9" and "IFRS-9": letters and the digits after them, apart or not
    parts = re.split(r"(?<=[a-z])[\s-]?(?=\d)", form)
    glued = r"[\s-]?".join(re.escape(p) for p in parts)
    exact = re.compile(rf"(?<![\w]){glued}(?:s|es)?(?![\w])")
    adjective = None
    if " " not in form and len(form) >= 6 and form.isalpha():
        adjective = re.compile(rf"(?<![\w]){re.escape(form[:-1])}\w{{0,3}}(?![\w])")
    return exact, adjective


def numbers_in(text_norm: str, words: bool = True) -> set[str]:
    """rag.language.textrules.numbers, without digits glued to letters ("b4" is "before", not 4), and
    with small numbers written as words read as digits ("eight days" has 8)."""
    found = numbers(_LETTER_DIGITS.sub(" ", text_norm))
    if words:
        found |= {_WORD_NUMBERS[w] for w in re.findall(r"[a-z]+", text_norm) if w in _WORD_NUMBERS}
    return found


_WORD_NUMBERS = NUMBER_WORDS



_LETTER_DIGITS = re.compile(r"(?<=[a-z])\d+")
_COMPARATIVE = re.compile(r"\((?:fy\s?)?((?:19|20)\d\d)\s?:\s?[^)]*\d")


@lru_cache(maxsize=PASSAGE_CACHE)
def antecedent_text(sentence: str, context: str) -> str:
    """The normalized text a referring sentence leans on: the sentences before it in its
    paragraph (empty when the sentence does not refer back, or starts a paragraph)."""
    if not context or not (_ANAPHOR.search(normalize(sentence))
                           or _DEFINITE_SUBJECT.match(sentence)):
        return ""
    if re.search(r"\n\s*\n\s*$", context):
        return ""  # the sentence opens a paragraph
    return normalize(_PARAGRAPH.split(context)[-1])


MIN_SHARED_TERMS = 2


@lru_cache(maxsize=PASSAGE_CACHE)
def continued_text(sentence: str, context: str) -> str:
    """The sentence before, when ``sentence`` carries on its topic without a pronoun: same
    paragraph, and at least two content words taken up again ("OpenAI can now develop products
    with third parties. API products developed with third parties will remain exclusive ...").
    Its names then count for the sentence, as an antecedent's do."""
    if not context or re.search(r"\n\s*\n\s*$", context):
        return ""
    paragraph = _PARAGRAPH.split(context)[-1].rstrip()
    spans = sentence_spans(paragraph)
    if not spans:
        return ""
    previous = paragraph[spans[-1][0]: spans[-1][1]]
    shared = set(content_terms(previous)) & set(content_terms(sentence))
    return normalize(previous) if len(shared) >= MIN_SHARED_TERMS else ""


def _counted(noun_stem: str, s_norm: str) -> bool:
    """True unless the sentence names the counted thing without a number next to it."""
    tokens = re.findall(r"\$?\d[\d,.]*%?|\w+", s_norm)
    stems = [stem(t) for t in tokens]
    positions = [i for i, t in enumerate(stems) if t == noun_stem]
    if not positions:  # counts something else ("Ten players" for Panthers) or nothing
        return any(re.fullmatch(rf"\d[\d,]*|{_NUMBER_WORD}", w) and not re.fullmatch(
            r"(?:1[5-9]|20)\d\d", w) for w in tokens) and not re.search(r"[$€£%]|\bper cent\b|"
            r"\b(?:billion|million|percent)\b", s_norm)
    for i in positions:
        window = tokens[max(0, i - 4): i] + tokens[i + 1: i + 3]
        if any(re.fullmatch(rf"\d[\d,.]*|{_NUMBER_WORD}", w) for w in window):
            return True
    return False


_S_HOLDER = re.compile(
    rf"(?P<e>[\w&.'-]+(?: [\w&.'-]+){{0,3}}?)(?:'s?)? (?:\w+ ){{0,1}}(?:{POSSESS_VERBS}|uses)\b|"
    rf"(?P<p>[\w&.-]+(?: [\w&.-]+){{0,3}}?)'s? (?:\w+ ){{0,2}}(?:{POSSESS_NOUNS})\b|"
    r"(?P<h>[\w&.-]+(?: [\w&.-]+){0,3}?) (?:\w+ ){0,2}(?:has|have|had|gets?|got) (?:a |an |the )?"
    r"(?:\w+ )?(?:right|rights|stake|share|option)\b"
)
_PRONOUN_SUBJECT = re.compile(r"^(?:it|they|he|she|the company|the firm|the group)$")


@lru_cache(maxsize=4096)
def _other_holder(holder: Entity, s_norm: str, ctx_norm: str) -> str | None:
    """The name of another holder when the sentence gives one and not the asked one."""
    holders: list[str] = []
    for m in _S_HOLDER.finditer(s_norm):
        phrase = (m.group("e") or m.group("p") or m.group("h") or "").strip()
        if phrase and m.group("e") and all(w in STOPWORDS_ALL for w in phrase.split()):
            # The shortest subject was a lone "and"/"but": the word read as an adverb before
            # the verb is the subject ("..., and microsoft retains azure api exclusivity").
            phrase = s_norm[m.start("e") : m.end()].rsplit(" ", 1)[0].strip()
        if not phrase:
            continue
        last = phrase.split()[-1]
        if _PRONOUN_SUBJECT.match(last) or _PRONOUN_SUBJECT.match(phrase):
            if holder.found_in(ctx_norm):
                return None
            continue
        holders.append(phrase)
    if not holders:
        return None
    if any(any(contains(h, f) for f in holder.forms) for h in holders):
        return None
    for h in holders:
        words = [w for w in h.split() if w not in STOPWORDS_ALL]
        if words:
            return words[-1]
    return None
