"""How citewise reads words: the one home of its text primitives.

rag/language/text.py cuts text into sentences and folds it for matching; this module reads the words
inside: tokens, stop words, stems and content terms, names, numbers, years and months, the
``[n]`` citation markers, and the words that refer back (pronouns, "the company"). The
answerer (rag/answer/support.py, rag/answer/extractive.py, rag/answer/constraints.py, rag/answer/followup.py,
rag/answer/answer_types.py), the LLM verifier, BM25, the eval judge and metrics, and the renderer all
import them from here, so "a name" or "a marker" means one thing everywhere.

Only primitives live here. Decisions built on them (is a sentence supported, does it keep to
the question, is it an answer) belong to their modules, and the eval judge's verdict is its own
(eval/judge.py): it shares these words with the answerer, not the answerer's checks.
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

from rag.language.text import normalize

# ---- tokens, stop words, stems --------------------------------------------------------------

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    s t d ll m o re ve y also""".split()
)
# Words that carry the shape of a question or a claim, not its content.
QUESTION_WORDS = frozenset(
    """much many long often far kind type sort according article articles say says said
    tell told know mention mentioned happen happened anyone anything something someone
    whose ever""".split()
)
STOPWORDS_ALL = STOPWORDS | QUESTION_WORDS  # what content terms leave out

TOKEN = re.compile(r"\w+", re.UNICODE)
_stemmer = Stemmer.Stemmer("english")

# Irregular past forms the stemmer leaves alone: answers are often told in the past tense.
IRREGULAR = {
    "began": "begin", "begun": "begin", "bought": "buy", "paid": "pay", "sold": "sell",
    "made": "make", "won": "win", "led": "lead", "held": "hold", "kept": "keep", "took": "take",
    "taken": "take", "gave": "give", "given": "give", "went": "go", "gone": "go",
    "spent": "spend", "built": "build", "brought": "bring", "thought": "think", "found": "find",
    "left": "leave", "lost": "lose", "met": "meet", "ran": "run", "saw": "see", "seen": "see",
    "sent": "send", "wrote": "write", "written": "write", "became": "become", "came": "come",
    "grew": "grow", "grown": "grow", "knew": "know", "known": "know", "rose": "rise",
    "risen": "rise", "fell": "fall", "fallen": "fall", "chose": "choose", "chosen": "choose",
    "drove": "drive", "driven": "drive", "struck": "strike", "taught": "teach", "fought": "fight",
    "hired": "hire", "owned": "own", "bore": "bear", "born": "bear", "died": "die",
    "percentage": "percent", "percentages": "percent",
}


def tokens(text: str) -> list[str]:
    """Folded ``\\w+`` tokens ("Microsoft's" -> microsoft, s)."""
    return TOKEN.findall(normalize(text))


def snowball(word: str) -> str:
    """The Snowball stem alone (no irregular forms): the one English stemmer of citewise."""
    return _stemmer.stemWord(word)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The stem content terms are compared by (irregular past forms folded first)."""
    return _stemmer.stemWord(IRREGULAR.get(word, word))


def content_terms(text: str) -> list[str]:
    """Stemmed content words (stop and question words removed), in order."""
    return [stem(t) for t in tokens(text) if t not in STOPWORDS_ALL]


def index_terms(text: str) -> list[str]:
    """BM25's terms: stop words removed, Snowball stems. Question words stay and irregular past
    forms are not folded: persisted indexes were built this way, and a query must be cut like
    the documents it is matched against."""
    return _stemmer.stemWords([t for t in tokens(text) if t not in STOPWORDS])


# ---- numbers, dates -------------------------------------------------------------------------

NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+")


def numbers(text: str) -> set[str]:
    """Numbers with thousands separators dropped: "1,000" and "1000" compare equal."""
    out = set()
    for m in NUMBER.findall(text):
        n = m.replace(",", "") if _THOUSANDS.fullmatch(m) else m
        out.add(n.rstrip(".,"))
    return out


YEAR_DIGITS = r"(?:1[5-9]\d\d|20\d\d)"  # the years a question or a sentence may name
# A year in running text, not part of an amount or a longer number ("$2019", "2019.5").
YEAR = re.compile(rf"(?<![$€£\d.,])\b{YEAR_DIGITS}\b(?![.,]?\d)")
YEAR_TOKEN = re.compile(r"^(?:1[5-9]|20)\d\d$")
# Month names and their short forms, lower case (match against normalize()d text).
FULL_MONTHS = (r"january|february|march|april|may|june|july|august|september|october|november|"
               r"december")
MONTHS = FULL_MONTHS + r"|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
# The words that open a wh-question.
WH_WORDS = "what who whom whose when where which why how"
# Trailing words of an organisation's name that its head alone may stand for.
ORG_SUFFIXES = frozenset(
    "group inc corp corporation pbc ltd llc plc co company holdings sa ag gmbh limited".split()
)
# Abbreviations of the language itself (lower-case -> canonical lower-case): titles, countries
# and unions, fields. Documents add the acronyms they define (rag/language/aliases.py); the nicknames a
# collection's readers use ("msft", "the Windows maker") come from the user's own file
# (CITEWISE_ALIASES_FILE; examples/news-aliases.json), never from a list here.
ABBREVIATIONS: dict[str, str] = {
    "ceo": "chief executive", "cfo": "chief financial officer", "cto": "chief technology officer",
    "u.s.": "us", "u.s": "us", "usa": "us", "united states": "us", "america": "us",
    "american": "us", "u.k.": "uk", "britain": "uk", "british": "uk", "united kingdom": "uk",
    "eu": "european union", "un": "united nations", "uae": "united arab emirates",
    "artificial general intelligence": "agi", "artificial intelligence": "ai",
}

# The auxiliary verbs a question may open with or put before its subject, as a regex
# alternation (lower case); "shall" is added where a question may open with it.
AUXILIARIES = r"is|are|was|were|do|does|did|can|could|will|would|should|has|have|had|may|might|must"


def is_year(token: str) -> bool:
    """True when the token is a year (1500-2099) on its own."""
    return bool(YEAR_TOKEN.match(token))


# ---- names ----------------------------------------------------------------------------------

# A capitalised word (name, acronym, month); apostrophes excluded so "Microsoft's" -> Microsoft.
NAME = re.compile(r"\b[A-Z][\w&-]*")


def names(text: str) -> set[str]:
    """Capitalised words that are not stop words, lower-cased. The sentence's first word counts
    only when it looks like a name (mixed case such as "OpenAI", or all capitals)."""
    out = set()
    for m in NAME.finditer(text):
        word = m.group()
        low = normalize(word)
        if low in STOPWORDS_ALL or len(word) < 2:
            continue
        first = not text[: m.start()].strip(" \t\"'“‘(•-*–·")
        if first and not (word.isupper() or any(c.isupper() for c in word[1:])):
            continue
        out.add(low)
    return out


# ---- citation markers -----------------------------------------------------------------------

# What citewise writes: "[1]", "[1, 2]"; group 1 holds the numbers.
_NUMBERS = r"\d+(?:\s*,\s*\d+)*"
MARKER = re.compile(rf"\[({_NUMBERS})\]")
_SPACED_MARKER = re.compile(rf"\s*\[{_NUMBERS}\]")
# What a model writes: also "[Source 1]", "[sources 1; 3]", "[1 and 2]".
_N = r"(?:sources?\s*)?\d+"
_MODEL_NUMBERS = rf"\s*{_N}(?:\s*[,;&]\s*(?:and\s+)?{_N})*\s*"
MODEL_MARKER = re.compile(rf"(?i)\[{_MODEL_NUMBERS}\]")
_STOP = r"([.!?…]+[\"'”’)]*)"  # a full stop and any closing quotes or brackets
_TRAILING = re.compile(rf"{_STOP}((?:\s*\[{_NUMBERS}\])+)")
_MODEL_TRAILING = re.compile(rf"(?i){_STOP}((?:\s*\[{_MODEL_NUMBERS}\])+)")


def marker_numbers(marker: str) -> list[int]:
    """The citation numbers of one marker ("[1, 2]" -> [1, 2]; "[Source 3]" -> [3])."""
    return [int(n) for n in re.findall(r"\d+", marker)]


def strip_markers(text: str) -> str:
    """Remove ``[1]``/``[1, 2]`` markers, keeping the words."""
    return _SPACED_MARKER.sub("", text).strip()


def markers_before_stop(text: str, model: bool = False) -> str:
    """Markers written after the full stop ("... 2032. [1]") moved before it, so they belong to
    the sentence they follow when the text is cut into sentences. ``model``: the looser markers
    a model writes (:data:`MODEL_MARKER`)."""
    pattern = _MODEL_TRAILING if model else _TRAILING
    return pattern.sub(lambda m: m.group(2) + m.group(1), text)


# ---- words that refer back ------------------------------------------------------------------

# In a question: a pronoun that may point at an earlier turn (rag/answer/followup.py).
PRONOUN = re.compile(
    r"(?i)\b(?:it|its|itself|they|them|their|theirs|themselves|he|him|his|she|her|hers)\b"
)
# "this deal", "that one", "about that?": a demonstrative before a lower-case word or at the end.
DEMONSTRATIVE = re.compile(r"\b(?i:this|that|these|those)\b(?=\s+[a-z]|\s*[?.!]*$)")
ORG_NOUNS = r"company|firm|group|startup|business|maker|giant|lab|organi[sz]ation"
# "the company", "that firm": an organisation named earlier.
DEFINITE_ORG = re.compile(rf"(?i)\b(?:the|that|this) (?:{ORG_NOUNS})\b")
# Nouns a definite description refers back with ("the deal", "the panel").
_REFERRING_NOUNS = (
    ORG_NOUNS + r"|companies|deal|agreement|partnership|pact|arrangement|plan|project|move|"
    r"government|country|city|team|rights|stake|investment|panel|report|study|programme|"
    r"program|scheme|club|university|school|party|league|court|band|film|show|book|war|event"
)
# In a (normalize()d) sentence: it refers back, so the sentences before it in its paragraph
# may count as its evidence (rag/answer/constraints.py). Wider than PRONOUN: demonstratives, "such",
# time references ("that year") and definite descriptions; reflexives are left out.
ANAPHOR = re.compile(
    r"\b(?:(?:that|the same|the following|the next|the previous|this) (?:year|years|time|day|"
    r"month|season|decade|period|era|week|game)|it|its|they|them|their|he|him|his|she|her|this|"
    rf"these|those|such|the (?:{_REFERRING_NOUNS}))\b"
)


# Number words read as digits ("five" and "5" are one number), for the checks and the eval.
NUMBER_WORDS: dict[str, str] = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty".split())}
NUMBER_WORDS.update({"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60",
                     "seventy": "70", "eighty": "80", "ninety": "90", "hundred": "100"})


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Whole words of the bundled model's WordPiece vocabulary (about 20,000): a word found
    there is spelt as meant. Empty when the model package is not installed (then nothing
    is corrected: without a dictionary a real word can't be told from a typo)."""
    from rag.bundled import bundled_model_path  # the one place that finds the package
    from rag.errors import ModelError

    try:
        path = bundled_model_path(verify=False) / "vocab.txt"
        return frozenset(w for w in path.read_text(encoding="utf-8").split()
                         if w.isalpha() and w.islower())
    except (ModelError, OSError):
        return frozenset()
