"""Question types and the check that a sentence holds an answer of that type."""

from __future__ import annotations

import pytest

from rag.answer.answer_types import AnswerType, asks_for_list, has_answer_type, question_type


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Who is the CEO of Tesla?", AnswerType.PERSON),
        ("And who verifies it?", AnswerType.PERSON),
        ("Which company does OpenAI buy cloud services from?", AnswerType.PERSON),
        ("Microsoft was founded by whom?", AnswerType.PERSON),
        ("How much is Microsoft's stake in OpenAI worth?", AnswerType.NUMBER),
        ("How many employees does OpenAI have?", AnswerType.NUMBER),
        ("What is the stake worth?", AnswerType.NUMBER),
        ("What percentage of OpenAI does Microsoft own?", AnswerType.PERCENT),
        ("When did the partnership begin?", AnswerType.DATE),
        ("What year was the first agreement?", AnswerType.DATE),
        ("Until when does Microsoft keep its rights?", AnswerType.DATE),
        ("How long does the revenue share last?", AnswerType.DATE),
        ("until when: What rights does Microsoft keep?", AnswerType.DATE),  # resolved follow-up
        ("how much did it pay: Who buys Azure services?", AnswerType.NUMBER),
        ("Where can non-API products be served?", AnswerType.PLACE),
        ("In which country is OpenAI based?", AnswerType.PLACE),
        ("Can OpenAI work with Google?", AnswerType.ANY),
        ("What happens when OpenAI declares AGI?", AnswerType.ANY),
        ("Why did Microsoft agree?", AnswerType.REASON),
        ("What did the people who founded OpenAI say?", AnswerType.ANY),
    ],
)
def test_question_type(question, kind):
    assert question_type(question) is kind


@pytest.mark.parametrize(
    ("kind", "sentence", "question", "ok"),
    [
        (AnswerType.NUMBER, "OpenAI has contracted to purchase $250 billion of Azure services.", "", True),
        (AnswerType.NUMBER, "Hundreds of engineers moved.", "", True),
        (AnswerType.NUMBER, "The partnership began in 2019.", "", False),  # a year is no amount
        (AnswerType.NUMBER, "OpenAI can now develop products with third parties.", "", False),
        (AnswerType.PERCENT, "Microsoft held a 32.5 per cent stake.", "", True),
        (AnswerType.PERCENT, "It owns 27% of the company.", "", True),
        (AnswerType.PERCENT, "OpenAI can now develop products with third parties.", "", False),
        (AnswerType.PERCENT, "The revenue share agreement remains.", "", False),
        (AnswerType.DATE, "The agreement extends IP rights through 2032.", "", True),
        (AnswerType.DATE, "Microsoft retains Azure API exclusivity until AGI.", "", True),
        (AnswerType.DATE, "It was signed on 28 October.", "", True),
        (AnswerType.DATE, "Research IP includes models intended for internal deployment.", "", False),
        (AnswerType.PERSON, "An independent expert panel will verify the declaration.",
         "Who verifies the declaration?", True),
        (AnswerType.PERSON, "Satya Nadella leads Microsoft.", "Who leads Microsoft?", True),
        (AnswerType.PERSON, "Microsoft retains these rights.", "Who retains the rights, Microsoft?", False),
        (AnswerType.PLACE, "Non-API products may be served on any cloud provider.", "", True),
        (AnswerType.PLACE, "The company opened an office in Paris.", "", True),
        (AnswerType.PLACE, "Payments will be made.", "", False),
        (AnswerType.ANY, "Anything at all.", "", True),
    ],
)
def test_has_answer_type(kind, sentence, question, ok):
    assert has_answer_type(kind, sentence, question) is ok


def test_how_long_is_a_length_unless_it_is_a_duration():
    from rag.answer.answer_types import AnswerType, has_answer_type, question_type

    q = "How long is the Eastgate extension?"
    assert question_type(q) is AnswerType.NUMBER
    assert has_answer_type(AnswerType.NUMBER, "The new section is 5.6 kilometres long.", q)
    assert not has_answer_type(AnswerType.NUMBER, "Trams run every eight minutes.", q)
    assert question_type("How long is the rye sourdough proofed?") is AnswerType.DATE
    assert question_type("How long does the trip take?") is AnswerType.DATE


def test_money_budget_and_rate_questions_are_typed():
    from rag.answer.answer_types import AnswerType, question_type

    assert question_type("What is the dollar value of the cloud deal?") is AnswerType.NUMBER
    assert question_type("What is the budget of the second phase?") is AnswerType.NUMBER
    assert question_type("What interest rate does the loan carry?") is AnswerType.PERCENT
    assert question_type("How big a slice of OpenAI does Microsoft own?") is AnswerType.PERCENT


def test_a_count_that_looks_like_a_year_still_counts():
    """1518 kestrels is a count; a bare 1998 is not an amount."""
    from rag.answer.answer_types import AnswerType, has_answer_type

    q = "How many kestrels did the tally of load note 14 count?"
    assert has_answer_type(AnswerType.NUMBER, "Note 14 counted 1518 kestrels on the ridge.", q)
    assert not has_answer_type(AnswerType.NUMBER, "Note 14 was written in 1998.", q)


@pytest.mark.parametrize(("question", "sentence", "ok"), [
    # a span of time answers "how long is the period", a frequency does not
    ("How long is the amortization period for underlying rights?",
     "The amortization period for underlying rights is 13.0 years.", True),
    ("How long is the period of expected benefit?",
     "Costs are amortised over the period of the expected benefit, which varies from 2 to 10 "
     "years.", True),
    ("How long is the extension?", "Trams run every eight minutes.", False),
    # an amount stated as none
    ("What was the amount of accrued interest or penalties in 2019?",
     "As of December 31, 2019, the Company had no accrued interest or penalties.", True),
    ("What was the amount of capitalized compensation cost?",
     "The amount of capitalized compensation cost was not material.", True),
    ("What was the amount of revenue in 2019?", "There is no mention of this here.", False),
    # a rule's condition answers a present-tense when-question about the rule
    ("When are corporation tax losses not recognised?",
     "Corporation tax losses are not recognised where future recoverability is uncertain.",
     True),
    ("When does OpenAI expect to achieve AGI?",
     "When OpenAI declares AGI, an independent expert panel will verify the declaration.",
     False),
    ("When did the tax losses get recognised?",
     "Corporation tax losses are not recognised where future recoverability is uncertain.",
     False),
    # a reason, not an amount after "by"
    ("Why did the valuation allowance increase in fiscal 2019?",
     "The valuation allowance increased by $14 million in fiscal 2019.", False),
    ("Why did the valuation allowance increase in fiscal 2019?",
     "The increase is mainly attributable to changes in deferred tax assets.", True),
    ("What was the reason for the increase in the Revenue?",
     "Revenue — 2019: 10,227; 2018: 9,122", False),
    ("Why was the match cancelled?", "The match was cancelled by the league.", True),
    # a definition says that it defines
    ("How does the company define ROIC?",
     "We define ROIC as operating income divided by average invested capital.", True),
    ("How does the company define ROIC?", "Other companies may not define ROIC the same way.",
     False),
    ("How is adjusted EBITDA defined?", "Adjusted EBITDA is defined as net income plus tax.",
     True),
    # ... or names the term and says what it is (WikiQA: "what is the definition of a hung jury")
    ("What is the definition of a hung jury?",
     "A hung jury or deadlocked jury is a jury that cannot agree upon a verdict.", True),
    ("What is the definition of a hung jury?",
     "The judge declared a mistrial after the jury deliberated for days and a retrial is a "
     "possibility.", False),
])
def test_answer_types_found_in_reports(question: str, sentence: str, ok: bool) -> None:
    assert has_answer_type(question_type(question), sentence, question) is ok


@pytest.mark.parametrize(("question", "kind"), [
    ("What was the reason for the unrealized losses in 2018?", AnswerType.REASON),
    ("What were the main reasons behind the decline?", AnswerType.REASON),
    ("How does the company define ROIC?", AnswerType.DEFINITION),
    ("How is Earnings Per Share defined?", AnswerType.DEFINITION),
])
def test_report_question_types(question: str, kind: AnswerType) -> None:
    assert question_type(question) is kind


@pytest.mark.parametrize(("question", "listing"), [
    ("What are the components of revenue?", True),
    ("What segments are reported?", True),
    ("What financial items are listed in the table?", True),  # a modifier before the plural
    ("Which other companies are mentioned?", True),
    ("What was the revenues in 2019?", False),
    ("What is the total assets?", False),
    ("What does Acme sells?", False),
])
def test_questions_that_ask_for_several_items(question: str, listing: bool) -> None:
    assert asks_for_list(question) is listing
