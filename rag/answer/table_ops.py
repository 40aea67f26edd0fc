"""Answers a table gives only when its cells are compared: which year a row's value was
largest in, in which years it passed a bound, which row leads a column, which years a table
covers, what a table shows.

The extractive answerer quotes one unit; "In which year was revenue less than 600,000?" or
"Which segment had the largest remaining charges?" ask for a comparison no cell states, so the
row with the answer was quoted without the answer, or not at all (the bound, a number no row
holds, failed the number check). These operations read the cells of the row the answerer's
own scoring chose (the question without its comparison) and state the result in front of the
quoted row: the citation is still an exact span, and the computed part is visible as such.
Each operation refuses (returns None) unless the row's label holds most of what the question
names, so a question that only looks like one falls back to quoting.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.language.tables import Row, Table
from rag.language.textrules import content_terms

# "less than 100.0 million", "exceed $5 million", "greater than 2.0%", "lower than 2,000"
_THRESHOLD = re.compile(
    r"\b(?P<op>less|lower|fewer|smaller|below|under|greater|more|higher|larger|bigger|above|"
    r"over|exceed(?:s|ed|ing)?)(?:\s+than)?\s*(?P<num>[-−–]?\s*[$€£¥]?\s*[-−–]?\d[\d,]*"
    r"(?:\.\d+)?)\s*(?P<unit>%|per\s?cent\b|thousands?\b|millions?\b|billions?\b|bn\b|m\b|k\b)?",
    re.IGNORECASE)
_BELOW = ("less", "lower", "fewer", "smaller", "below", "under")
# "In which year", "Which years", "Which of the years", "which FY", "For which periods"
_ASKS_PERIOD = re.compile(
    r"\b(?:which|what)\s+(?:of\s+the\s+)?(?:(?:fiscal|financial|calendar)\s+)?"
    r"(?:years?|fy|periods?|quarters?)\b", re.IGNORECASE)
_MORE = r"larger|largest|higher|highest|greater|greatest|bigger|biggest"
_LESS = r"smaller|smallest|lower|lowest|less|least|fewer|fewest"
_EXTREME = re.compile(rf"\b(?P<word>{_MORE}|{_LESS}|more|most)\b(?!\s+than\b)", re.IGNORECASE)
_SUPERLATIVE = re.compile(
    r"\b(?P<word>largest|highest|greatest|biggest|smallest|lowest|least|fewest|"
    r"most(?=\s*(?:\?|$|\bin\b|\bof\b|\bfor\b|\bduring\b|\bat\b)))\b", re.IGNORECASE)
# "Which segment had ...", "In which country was ... the largest": what the rows are
_ASKS_ROW = re.compile(r"\b(?:which|what)\s+(?P<noun>[a-z][a-z -]{1,40}?)\s+"
                       r"(?:has|had|have|was|were|is|are|did|does|made|contributed|recorded|"
                       r"reported|generated|saw|experienced)\b", re.IGNORECASE)
_YEARS_VERB = re.compile(
    r"\b(?:recorded|calculated|provided|reported|presented|shown|included|disclosed|listed|"
    r"given|available|measured|covered|analy[sz]ed|stated|tabulated)\b|\btables?\b",
    re.IGNORECASE)
# "What does the table show?", "What does this table represent?"
_ABOUT_TABLE = re.compile(
    r"^\s*what\s+(?:\w+\s+){0,2}(?:does|do|is)\s+(?:the|this)\s+tables?\s+(?:shows?|"
    r"represents?|presents?|summari[sz]es?|illustrates?|depicts?|provides?|describes?|"
    r"sets?\s+(?:out|forth)|tells?(?:\s+us)?|shows?\s+us|displays?|reports?|lists?|"
    r"details?|contains?|about)\b", re.IGNORECASE)
# a sentence introducing a table: "The following table sets forth ...", "... is shown
# below.", "The carrying value of goodwill by segment was as follows:"
_INTRODUCES = re.compile(
    r"\b(?:following|this|the|these)\s+tables?\s+(?:(?:below|above)\s+)?(?:\w+\s+){0,2}?"
    r"(?:shows?|sets?\s+(?:forth|out)|presents?|summari[sz]es?|provides?|represents?|"
    r"reconciles?|details?|includes?|illustrates?|lists?|reflects?|contains?|discloses?|"
    r"compares?|depicts?|outlines?|breaks?\s+down)\b|"
    r"\b(?:shown|presented|set\s+(?:forth|out)|summari[sz]ed|provided|detailed|disclosed|"
    r"reconciled|listed|reflected|analy[sz]ed|included|outlined)\s+(?:below|in\s+the\s+"
    r"(?:following\s+)?table)\b|\bas\s+follows\b|:\s*$", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
_SHORT_YEAR = re.compile(r"\b(?:fy|f|q[1-4]\s*)'?(\d\d)\b", re.IGNORECASE)
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_NOT_NUMBER = re.compile(r"[a-z]{3,}", re.IGNORECASE)
# question words that name the operation or the period, not the row
_GENERIC = frozenset(content_terms(
    "year years fiscal financial period periods fy amount value values figure respectively "
    "larger largest higher highest greater greatest bigger biggest smaller smallest lower "
    "lowest less least fewer fewest more most exceed exceeded than thousand thousands million "
    "millions billion billions"))
_TOTAL = re.compile(r"^\s*(?:total|subtotal|sub-total|grand total|net total)\b", re.IGNORECASE)
# share of the question's own words the row's label must hold: more than half (on TAT-QA's
# tune excerpts with their near misses, rows holding half were the swapped-name variants:
# "Angie equipment" read off "Furniture and equipment")
MIN_LABEL_COVERAGE = 0.55


@dataclass(frozen=True)
class TableQuestion:
    """A question one table answers by comparing cells."""

    op: str  # "threshold" | "extreme" | "row_extreme" | "years" | "about"
    rest: str  # the question without the operation's words: what names the row
    direction: int = 0  # +1 larger / above the bound, -1 smaller / below it
    bound: float | None = None
    bound_text: str = ""
    years: tuple[str, ...] = ()  # years the question names ("between 2018 and 2019")


def parse_table_question(question: str) -> TableQuestion | None:
    """The table operation ``question`` asks for, or None for an ordinary question."""
    q = " ".join(question.split())
    if _ABOUT_TABLE.search(q):
        return TableQuestion("about", q)
    years = tuple(dict.fromkeys(_YEAR.findall(q)))
    period = _ASKS_PERIOD.search(q)
    if period:
        m = _THRESHOLD.search(q)
        if m:
            bound = _number(m.group("num"))
            if bound is not None:
                direction = -1 if m.group("op").lower() in _BELOW else 1
                rest = " ".join((q[: m.start()] + q[m.end():]).split())
                return TableQuestion("threshold", rest, direction, bound,
                                     " ".join(m.group(0).split()), years)
        e = _EXTREME.search(q)
        if e:
            word = e.group("word").lower()
            direction = -1 if re.fullmatch(_LESS, word) else 1
            rest = " ".join((q[: e.start()] + q[e.end():]).split())
            return TableQuestion("extreme", rest, direction, years=years)
        if _YEARS_VERB.search(q) and not re.search(r"\brespectively\b", q, re.IGNORECASE):
            return TableQuestion("years", " ".join(_YEARS_VERB.sub(" ", q).split()),
                                 years=years)
        return None
    s = _SUPERLATIVE.search(q)
    if s and _ASKS_ROW.search(q):
        word = s.group("word").lower()
        direction = -1 if re.fullmatch(_LESS, word) else 1
        rest = " ".join((q[: s.start()] + q[s.end():]).split())
        return TableQuestion("row_extreme", rest, direction, years=years)
    return None


def _number(text: str) -> float | None:
    """A cell's or bound's number: "$1,073.3" 1073.3, "(38)" -38, "4.5%" 4.5; None for a cell
    that is not one number ("–", "n/a", "1 to 3 years", "2018/2019")."""
    s = text.strip()
    found = _NUMBER.findall(s)
    if len(found) != 1 or _NOT_NUMBER.search(s):
        return None
    value = float(found[0].replace(",", ""))
    negative = (s.startswith("(") and s.endswith(")")) or bool(re.match(r"^[$€£¥\s]*[-−–]", s))
    return -value if negative else value


def cell_number(cell: str) -> float | None:
    """The number a table cell holds, or None (a cell with words, a range, a dash)."""
    return _number(cell.replace("%", ""))


def _period(column: str) -> str:
    """The year a column heading names ("April 28, 2018" 2018, "FY19" 2019), else the heading."""
    years: list[str] = _YEAR.findall(column)
    if len(set(years)) == 1:
        return years[0]
    short: list[str] = _SHORT_YEAR.findall(column)
    if len(years) == 0 and len(set(short)) == 1:
        return f"20{short[0]}"
    return column


def period_values(row: Row, years: Sequence[str] = ()) -> list[tuple[str, str, float]]:
    """(period, cell, number) of a row's columns that are periods (a year in the heading) and
    hold one number; only the ``years`` the question names when it names some the row has."""
    values = [(col, cell, cell_number(cell)) for col, cell in row.values()]
    numeric = [(col, cell, v) for col, cell, v in values if v is not None]
    dated = [(_period(col), cell, v) for col, cell, v in numeric
             if _YEAR.search(col) or _SHORT_YEAR.search(col)]
    if not dated:  # no year in the headings: every column with a heading and a number
        dated = [(col, cell, v) for col, cell, v in numeric if col]
    if len({p for p, _, _ in dated}) != len(dated):
        return []  # two columns for one year ("2019 Men", "2019 Women"): not a simple series
    named = [d for d in dated if d[0] in years]
    return named if len(named) >= 2 else dated


# ... and words of a question about which years a table covers
_YEARS_GENERIC = frozenset(content_terms(
    "table tables information data included include shown show reported report presented "
    "present provided provide recorded record calculated calculate listed list disclosed "
    "available made measured covered analysed analyzed stated tabulated statement"))


def label_coverage(rest: str, row: Row, group: bool = True) -> float:
    """Share of the question's own words (not the operation's) that the row's label holds,
    with the label of the group it is under unless ``group`` is false."""
    asked = set(content_terms(rest)) - _GENERIC
    if not asked:
        return 0.0
    label = set(content_terms(f"{row.group} {row.label}" if group else row.label))
    return len(asked & label) / len(asked)


def names_no_row(rest: str) -> bool:
    """A question about which years a table covers that names no row ("What years are
    included in the table?")."""
    return not set(content_terms(rest)) - _GENERIC - _YEARS_GENERIC


def row_matches(rest: str, row: Row) -> bool:
    """Does the row's label (with its group's) hold more than half of what the question
    names, or half with the rest in its table's caption and headings ("Wholesale revenue"
    read off the row "Wholesale" of "Revenue by segment")?"""
    cov = label_coverage(rest, row)
    if cov >= MIN_LABEL_COVERAGE:
        return True
    if cov < 0.5:
        return False
    asked = set(content_terms(rest)) - _GENERIC
    around = set(content_terms(" ".join([row.group, row.label, row.table.caption,
                                         *row.table.columns])))
    return len(asked & around) / len(asked) >= 0.75


def describes(rest: str, text: str, share: float = 0.75) -> bool:
    """Does ``text`` (a sentence introducing a table) name most of what the question asks
    about (``share`` of its words but the operation's and the period's)?"""
    asked = set(content_terms(rest)) - _GENERIC - _YEARS_GENERIC
    return bool(asked) and len(asked & set(content_terms(text))) / len(asked) >= share


def row_fit(rest: str, row: Row) -> tuple[float, float, float]:
    """How well a row's label names what the question asks about: its own label first
    ("Interest income" over "Interest expense" under "Other income"), with fewest words the
    question doesn't have ("Net income" over "Other income (expense), net"), then with its
    group."""
    own = set(content_terms(row.label))
    precision = len(own & set(content_terms(rest))) / len(own) if own else 0.0
    return (round(label_coverage(rest, row, group=False), 2), round(precision, 2),
            round(label_coverage(rest, row), 2))


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def threshold_answer(row: Row, tq: TableQuestion) -> str | None:
    """"2018 and 2017: Net cash ... — 2019: 900; 2018: 700; 2017: 650". The bound is the
    question's; the answer states only what the cited cells show."""
    series = period_values(row, tq.years)
    if len(series) < 2 or tq.bound is None:
        return None
    bound = tq.bound
    passes: Callable[[float], bool] = (lambda v: v < bound) if tq.direction < 0 \
        else (lambda v: v > bound)
    hits = [p for p, _, v in series if passes(v)]
    lead = _join(hits) if hits else f"None of {_join([p for p, _, _ in series])}"
    return f"{lead}: {row.readable()}"


def extreme_answer(row: Row, tq: TableQuestion) -> str | None:
    """"2019 (larger): EBITDA — 30 June 2019: 79,046; 30 June 2018: 63,954"."""
    series = period_values(row, tq.years)
    if len(series) < 2:
        return None
    pick = max if tq.direction > 0 else min
    best = pick(v for _, _, v in series)
    winners = [p for p, _, v in series if v == best]
    word = "largest" if tq.direction > 0 else "smallest"
    if len(series) == 2:
        word = "larger" if tq.direction > 0 else "smaller"
    if len(winners) == len(series):
        return f"The same in {_join(winners)}: {row.readable()}"
    return f"{_join(winners)} ({word}): {row.readable()}"


def years_answer(row: Row) -> str | None:
    """"2019 and 2018: Current liabilities — 2019: 328; 2018: 268"."""
    series = period_values(row)
    periods = [p for p, _, _ in series if _YEAR.fullmatch(p)]
    if len(periods) < 2:
        return None
    return f"{_join(periods)}: {row.readable()}"


def table_years(table: Table) -> str:
    """The years a table's columns are for, as a list ("2019, 2018 and 2017"), or ""."""
    years = list(dict.fromkeys(p for p in (_period(c) for c in table.columns[1:])
                               if _YEAR.fullmatch(p)))
    return _join(years) if len(years) >= 2 else ""


def _column(question: str, rows: Sequence[Row], years: Sequence[str]) -> int | None:
    """The column a row-extreme question compares: the one whose heading shares most words
    with the question (a year it names decides between equals); None when unclear."""
    table = rows[0].table
    asked = set(content_terms(question)) - _GENERIC
    scored = []
    for i, heading in enumerate(table.columns):
        if i == 0 or not any(i < len(r.cells) and cell_number(r.cells[i]) is not None
                             for r in rows):
            continue
        heading_years = set(_YEAR.findall(heading))
        if years and heading_years and not heading_years & set(years):
            continue
        scored.append((len(asked & set(content_terms(heading))),
                       len(heading_years & set(years)), i))
    if not scored:
        return None
    scored.sort(reverse=True)
    if len(scored) > 1 and scored[0][:2] == scored[1][:2]:
        return None  # two columns fit as well: not clear which is compared
    return scored[0][2]


def row_extreme(rows: Sequence[Row], tq: TableQuestion) -> tuple[Row, str] | None:
    """The row with the largest (smallest) value in the column the question names, among the
    data rows of one table (totals left out), and the answer's lead."""
    # a row without a label of its own (its first cell empty) is a total too
    data = [r for r in rows if r.kind == "row" and r.cells and r.cells[0].strip()
            and not _TOTAL.match(r.label)]
    if len(data) < 2:
        return None
    col = _column(tq.rest, data, tq.years)
    if col is None:
        return None
    valued = [(cell_number(r.cells[col]), r) for r in data if col < len(r.cells)]
    numbered = [(v, r) for v, r in valued if v is not None]
    if len(numbered) < 2:
        return None
    pick = max if tq.direction > 0 else min
    best = pick(v for v, _ in numbered)
    winners = [r for v, r in numbered if v == best]
    if len(winners) != 1:
        return None
    heading = rows[0].table.columns[col]
    word = "the largest" if tq.direction > 0 else "the smallest"
    cell = winners[0].cells[col]
    label = winners[0].label.rstrip(" .:;")  # "Long-term debt ." reads as a sentence of its own
    return winners[0], f"{label} ({word}, {heading}: {cell})" if heading \
        else f"{label} ({word}: {cell})"


_JOINED = re.compile(r"^\s*(?:,\s*(?:and\s+)?|and\s+|&\s*)(?:the\s+)?$")


def coordinated(question_norm: str, labels: Sequence[Sequence[str]]) -> list[int]:
    """The indexes of the names a question joins with "and" ("Apple and Huawei", "Japanese
    Yen and South Korean Won", "A, B and C"): each is asked about on its own, so each may be
    its own row. ``labels`` are each name's forms, lower-case; [] when fewer than two."""
    spans = []
    for i, forms in enumerate(labels):
        found = [(m.start(), m.end()) for f in forms
                 for m in re.finditer(rf"(?<!\w){re.escape(f)}(?!\w)", question_norm)]
        if found:
            spans.append((*min(found), i))
    spans.sort()
    best: list[int] = []
    run: list[int] = []
    for k, (start, _end, i) in enumerate(spans):
        if run and _JOINED.match(question_norm[spans[k - 1][1]:start]):
            run.append(i)
        else:
            run = [i]
        if len(run) > len(best):
            best = list(run)
    return best if len(best) >= 2 else []


def introduces_table(sentence: str) -> bool:
    """A sentence that says what a table shows ("The following table sets forth ...")."""
    return bool(_INTRODUCES.search(sentence)) and not sentence.lstrip().startswith("|")
