"""What kind of answer a question wants, and whether a sentence has one.

A sentence can match a question's words and still not answer it ("How much ..." answered by a
sentence without any amount). The extractive answerer prefers sentences of the right type and
abstains when none has it. Checks are deliberately permissive: a false "no" makes the system
abstain on an answerable question, a false "yes" only leaves the decision to the score.
"""

from __future__ import annotations

import re
from enum import StrEnum

from rag.language.text import normalize
from rag.language.textrules import AUXILIARIES, NUMBER_WORDS, content_terms, names
from rag.language.textrules import MONTHS as _MONTHS
from rag.language.textrules import YEAR as _YEAR


class AnswerType(StrEnum):
    PERSON = "person"  # a person or an organisation
    NUMBER = "number"  # an amount, count, price
    PERCENT = "percent"  # a percentage, share or fraction
    DATE = "date"  # a date, year, period or time limit
    PLACE = "place"
    REASON = "reason"  # why: a cause or purpose must be stated
    DEFINITION = "definition"  # how X is defined: a sentence that defines must say so
    ANY = "any"  # yes/no, how, what ...: no check


# Patterns over the normalized (lower-cased) question. When several match, the earliest in the
# question wins, so a resolved follow-up "until when: What rights does Microsoft keep?" is DATE.
_QUESTION_PATTERNS: list[tuple[AnswerType, re.Pattern[str]]] = [
    (AnswerType.REASON, re.compile(
        r"^\W*(?:(?:and|but|so|then)\s+)?why\b|\bfor what reason\b|\bwhat (?:caused|led to)\b|"
        r"\bhow come\b|\bwhat (?:is|was|are|were) the (?:\w+ )?reasons? (?:for|behind|why)\b|"
        r"\bwhat (?:drove|contributed to)\b")),
    (AnswerType.DEFINITION, re.compile(
        r"\bhow (?:does|do|did) (?:\w+ ){1,3}define\b|\bhow (?:is|are|was|were) (?:\S+ ){1,6}"
        r"defined\b|\bwhat is the definition of\b")),
    (AnswerType.DATE, re.compile(
        r"\b(?:until|till|since|by|from) when\b|"
        r"\bhow long (?:is|are|was|were)\b.*\b\w+(?:ed|en)\W*$|"
        r"\bhow long\b(?! (?:is|are|was|were|will (?:\w+ ){1,4}be|would (?:\w+ ){1,4}be)\b)|"
        r"^\W*(?:(?:and|but|so|then)\s+)?when\b|"
        r"\bwhen (?:did|does|do|is|was|will|were|are|has|have|had|can|could|would|should)\b|"
        r"\b(?:what|which) (?:year|years|date|day|month|decade|century|time)\b|\bhow soon\b")),
    (AnswerType.PERCENT, re.compile(
        r"\bwhat (?:percentage|percent|proportion|share|fraction|portion)\b|"
        r"\bhow (?:big|large) (?:a|of a) (?:share|stake|portion|proportion|slice|piece|chunk|cut|part)\b|"
        r"\b(?:percentage|percent|per cent)\b|%|"
        r"\b(?:interest|tax|growth|inflation|unemployment|mortgage|vacancy|occupancy|turnout|"
        r"success|error|response) rates?\b")),
    (AnswerType.NUMBER, re.compile(
        r"\bhow (?:much|many|big|large|high|low|old|far|long|wide|tall|deep|heavy)\b|"
        r"\bwhat (?:stake|amount|number|sum|price|cost|value|size|rate|valuation)\b|\bwhat (?:is|was|are|were)\b.*\bworth\b|"
        r"\bhow (?:is|was) .* valued\b|"
        r"\b(?:dollar|euro|pound|cash|monetary|money) (?:value|amount|figure|sum|worth)\b|"
        r"\bin (?:dollars|euros|pounds)\b|\bhow many (?:dollars|euros|pounds)\b|"
        r"\bwhat (?:is|was|are|were) the (?:\w+ ){0,2}(?:amount|price|cost|valuation|sum|budget|"
        r"salary|revenue|profit|population|length|distance|height|weight|capacity|total)\b")),
    (AnswerType.PLACE, re.compile(
        r"\bwhere\b|\b(?:what|which|in which|in what) (?:country|city|state|place|region|"
        r"continent|town|location)\b")),
    (AnswerType.PERSON, re.compile(
        r"^\W*(?:(?:and|but|so|then|tell me|do you know|does it say)\s+)?(?:who|whom|whose)\b|"
        r"\b(?:by|to|with|for) whom\b|"
        r"\b(?:what|which) (?:company|companies|firm|person|people|organi[sz]ation|group|"
        r"team|agency|body|panel|partner|rival|rivals|individual|ceo|founder)\b")),
]

_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
    r"fifty|hundred|hundreds|thousand|thousands|million|millions|billion|billions|trillion|"
    r"dozen|dozens|half|double|twice|several|percent|per cent|(?:a|one|two) thirds?"
)
_NUMBER_WORDS_SMALL = "|".join([w for w, n in NUMBER_WORDS.items() if 1 <= int(n) <= 12]
                               + ["several"])
_HAS_NUMBER = re.compile(rf"\d|%|\b(?:{_NUMBER_WORDS})\b")
_HAS_PERCENT = re.compile(
    r"%|\b(?:percent|per cent|percentage|half|quarter|quarters|majority|minority|fraction)\b|"
    r"\b(?:a|one|two) thirds?\b|\b\d+\s*/\s*\d+\b"
)
# A date or period stated outright ...
_EXPLICIT_DATE = re.compile(
    rf"\b(?:1[5-9]\d\d|20\d\d|\d{{2,4}}s)\b|\b(?:{_MONTHS})\b|"
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|yesterday|tomorrow|"
    r"century|decade|year|years|month|months|week|weeks|day|days|hours|annually|quarterly|"
    r"ago|soon|recently)\b"
)
# ... or a time given relative to an event: "until the expert panel verifies AGI". It answers
# only when the event is not the question's own ("when will AGI be achieved?" is not answered
# by "after AGI is achieved").
_RELATIVE_DATE = re.compile(
    r"\b(?:until|till|through|since|after|before|by the time|once|whichever occurs|"
    r"during|following|later than|earlier than|within|over)\b(?P<event>(?:\W+\w+){1,6})"
)
_REASON = re.compile(
    r"\b(?:because|due to|owing to|as a result|result of|in order to|so that|so as to|since|"
    r"reason|reasons|caused|causes|led to|leads to|thanks to|in response to|aimed at|"
    r"intended to|in an effort to|amid|after|(?<!the )following|given that|motivated|causing|cause|"
    r"triggered|triggers|sparked|sparks|prompted|prompts|provoked|evoked|fuel(?:l)?ed|"
    r"resulted in|results in|started as|stemmed from|stems from|driven by|attributable to|"
    r"attributed to|attributes|resulting from|arising from|reflects|reflected|reflecting)\b|"
    # "caused by", "hit by the storm" - not "increased by $14 million", which is an amount,
    # nor "by major security type", "by segment", which is how figures are broken down
    r"\bby\b(?!\s+(?:\$|€|£|¥|\d|approximately|about|around|roughly|nearly|almost|over|"
    r"more than|less than|up to|some)\b)(?!\s+(?:[a-z-]+\s+){0,2}(?:types?|segments?|"
    r"regions?|categor(?:y|ies)|geograph(?:y|ic area)|countr(?:y|ies)|class(?:es)?|"
    r"products? lines?|business(?:es)?|quarters?|maturity|function)\b)"
)
# How a sentence that defines a term says so.
_DEFINES = re.compile(
    r"\bdefine[sd]?\b(?:\W+\w+){0,8}?\W+as\b|\bdefinition\b|\bmeans\b|\brefers? to\b|"
    r"\b(?:calculated|computed|measured) (?:as|by|using)\b|\brepresents?\b|\bconsists? of\b|"
    r"\bcompris(?:es|ing)\b|"
    # or names the term first and says what it is: "A hung jury or deadlocked jury is a jury
    # that cannot ... agree upon a verdict"
    r"^\W*(?:\w+\W+){1,7}?(?:is|are) (?:a|an|the|any|one)\b")
# Years before 1500 when the sentence marks them as a time ("He died in 1259").
_HOW_MANY = re.compile(r"\bhow many ([a-z]{3,})")
_EARLY_YEAR = re.compile(r"\b(?:in|since|by|from|until|around|circa|c\.|year) \d{3,4}\b")
# People named by what they do ("paid professionals", "voters", "paleoclimatologists").
_AGENT_PLURAL = re.compile(r"\b[a-z]{3,}(?:ists|ians|ors|ers|eers|ants|ents|als|ees)\b|"
                           r"\b(?:owner|people|person|residents?|citizens?|officials?|staff|"
                           r"crew|troops|army|police|voters?|members?)\b")
_PERSON_NOUNS = re.compile(
    r"\b(?:ceo|founder|co-founder|president|chairman|chairwoman|chair|director|executive|"
    r"officer|minister|spokesperson|spokesman|spokeswoman|manager|leader|head|chief|panel|"
    r"board|committee|council|court|judge|government|agency|regulator|company|companies|firm|"
    r"team|group|investors?|employees|partner|partners|rivals?|experts?|researchers?|"
    r"scientists?|engineers?|analysts?|he|she|they|who)\b"
)
_PLACE = re.compile(
    r"\b(?:in|at|on|from|near|across|throughout|outside|inside|within|into|to)\s+"
    r"(?:[A-Z]|(?:the|a|an|any|every|its|their|his|her)\s+\w)"
)
_PLACE_NOUNS = re.compile(
    r"\b(?:city|country|countries|state|region|headquarters|headquartered|office|offices|"
    r"campus|capital|continent|abroad|overseas|nationwide|worldwide|globally|located|based)\b"
)


_DIMENSION_Q = re.compile(
    r"\bhow (?:long|wide|tall|deep|high|far) (?:is|are|was|were|will|would)\b|"
    r"\bwhat (?:is|was|are|were) the (?:\w+ )?(?:length|width|height|depth|distance)\b")
_DIMENSION = re.compile(
    r"\b(?:\d[\d,.]*\s?(?:m|km|cm|mm|ft|mi)|(?:kilo|centi|milli)?met(?:re|er)s?|miles?|"
    r"feet|foot|inch(?:es)?|yards?|long|wide|tall|deep|high|length|width|height|distance)\b")
_HOW_LONG_Q = re.compile(r"[ ¿?]*how long")
# "How long is the amortization period?" is answered by a span of time ("13.0 years", "from 2
# to 10 years"), never by a frequency ("trams run every eight minutes").
_DURATION = re.compile(
    rf"(?<!every )(?<!each )\b(?:\d[\d,.]*|{_NUMBER_WORDS_SMALL})(?:\s*(?:-|to|and)\s*\d[\d,.]*)?"
    r"\s*(?:years?|months?|weeks?|days?|hours?)\b")
# A quantity stated as none ("the Company had no accrued interest", "No significant amounts of
# gains were reclassified", "was not material") answers "What was the amount of ...?".
_NONE_OF = re.compile(r"\b(?:no|zero|nil)\s+((?:[a-z-]+\s+){0,3}[a-z-]+)")
_NONE_STATED = re.compile(
    r"\b(?:is|are|was|were|been|be)\s+(?:not material|immaterial|insignificant|negligible|nil|zero)\b")
# "When are tax losses not recognised?" - a rule's condition ("where recoverability is
# uncertain", "if ...", "unless ...") answers a present-tense when-question.
_GENERAL_WHEN = re.compile(r"^\W*when (?:is|are|does|do|can|should|must|may|would|will)\b")
_CONDITION = re.compile(
    r"\b(?:when|whenever|where|if|unless|provided that|in the event that)\b(?P<event>(?:\W+\w+){1,6})")


def question_type(question: str) -> AnswerType:
    """The answer type the question asks for (ANY when it names none)."""
    q = normalize(question)
    best: tuple[int, AnswerType] | None = None
    for kind, pattern in _QUESTION_PATTERNS:
        m = pattern.search(q)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), kind)
    return best[1] if best else AnswerType.ANY


def has_answer_type(kind: AnswerType, sentence: str, question: str = "") -> bool:
    """True when ``sentence`` contains something of type ``kind`` (names already in the
    question don't count as an answer to "who")."""
    if kind is AnswerType.ANY:
        return True
    low = normalize(sentence)
    qlow = normalize(question)
    if kind in (AnswerType.NUMBER, AnswerType.PERCENT, AnswerType.DATE):
        # A number or year the question already gives is not its answer.
        for n in set(re.findall(r"\d+(?:[.,]\d+)*", qlow)):
            low = re.sub(rf"(?<![\d.,]){re.escape(n)}(?![\d]|[.,]\d)", " ", low)
    if kind is AnswerType.NUMBER:  # a bare year is not an amount
        counted = _HOW_MANY.search(qlow)
        if counted and re.search(rf"\b\d[\d,.]*\s+(?:[a-z-]+\s+)?{re.escape(counted.group(1)[:5])}",
                                 low):
            return True  # "1518 kestrels" counts kestrels, though 1518 could be a year
        if _states_none(low, question):
            return True
        if not _HAS_NUMBER.search(_YEAR.sub(" ", low)):
            return False
        # "How long is the extension?" wants a length: "trams run every eight minutes" has a
        # number and no length.
        return not _DIMENSION_Q.search(qlow) or bool(_DIMENSION.search(low)) or (
            bool(_HOW_LONG_Q.match(qlow)) and bool(_DURATION.search(low)))
    if kind is AnswerType.PERCENT:
        return bool(_HAS_PERCENT.search(low))
    if kind is AnswerType.DATE:
        if _EXPLICIT_DATE.search(low) or _EARLY_YEAR.search(low):
            return True
        asked = set(content_terms(question))
        if any(set(content_terms(m.group("event"))) - asked for m in _RELATIVE_DATE.finditer(low)):
            return True
        # a condition answers when the rest of the sentence (3/4 of the question's words) is
        # what the question asks about ("Tax losses are not recognised where ..."), not
        # another matter ("When OpenAI declares AGI, a panel will verify it" for "When does
        # OpenAI expect AGI?")
        return bool(_GENERAL_WHEN.search(qlow)) and any(
            set(content_terms(m.group("event"))) - asked
            and 4 * len(set(content_terms(low[:m.start()] + low[m.end():])) & asked)
            >= 3 * len(asked)
            for m in _CONDITION.finditer(low))
    if kind is AnswerType.REASON:
        return bool(_REASON.search(low))
    if kind is AnswerType.DEFINITION:
        return bool(_DEFINES.search(low))
    asked = names(question) | {w for w in re.findall(r"\w+", normalize(question))}
    if kind is AnswerType.PLACE:  # "Which country ...?" - "Greenland signed ..."
        return bool(_PLACE.search(sentence) or _PLACE_NOUNS.search(low)
                    or names(sentence) - asked)
    # PERSON: a name the question does not already contain, or a noun for people/bodies.
    return bool(names(sentence) - asked) or bool(_PERSON_NOUNS.search(low)
                                                 or _AGENT_PLURAL.search(low))


def _states_none(low: str, question: str) -> bool:
    """The sentence says there was none of what the question measures: "no accrued interest"
    for "the amount of accrued interest", or that the amount was not material."""
    if _NONE_STATED.search(low):
        return True
    asked = set(content_terms(question))
    return any(set(content_terms(m.group(1))) & asked for m in _NONE_OF.finditer(low))


_YES_NO = re.compile(rf"\W*(?:(?:and|but|so)\s+)?(?:{AUXILIARIES}|shall)\b")


def is_yes_no(question: str) -> bool:
    """A question answered by yes or no ("Can OpenAI ...?"): a sentence restating it answers it."""
    return bool(_YES_NO.match(normalize(question)))


_ASKED_NOUN = re.compile(
    r"^\W*(?:(?:and|but|so|in|on|at|for|from|to|by|of|with|through|until)\s+)?(?:which|what)\s+"
    rf"(?P<np>(?:[a-z][\w-]*\s+){{0,2}}?[a-z][\w-]*)\s+(?:{AUXILIARIES})\b"
)


def asked_noun(question: str) -> str | None:
    """The stem of the noun a which/what question asks for ("Which government customers can
    ..." -> "custom"), or None. An answer sentence usually names it; the scorer weighs that."""
    m = _ASKED_NOUN.match(normalize(question))
    if not m:
        return None
    # "What transition of OpenAI ...": the noun before the preposition is the one asked for
    np_ = re.split(r"\s(?:of|in|for|on|at|to|with|by|from)\s", f" {m.group('np')} ")[0]
    terms = content_terms(np_)
    return terms[-1] if terms else None


_LIST_Q = re.compile(
    r"^\W*(?:(?:what|which)\s+(?:are|were)\b|(?:list|name)\s+(?:the|all)\b|"
    r"(?:what|which)\s+(?!(?:was|is|has|does|this|its|as)\b)(?:[a-z][\w-]*\s+)?"
    r"(?<!\bwas )(?<!\bis )(?<!\bhas )(?<!\bdoes )[a-z][\w-]*[^s\W]s\b"
    r"(?:\s+[\w'-]+){0,4}?\s+(?:are|were|do|does|did|is|was|has|have|had)\b)")


def asks_for_list(question: str) -> bool:
    """A question that asks for several items ("What are the components of ...?", "Which
    years does the table show?"): a table's or group's list of rows may answer it."""
    return bool(_LIST_Q.match(normalize(question)))
