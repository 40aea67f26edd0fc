"""The question's constraints: a sentence that breaks one is never an answer (rag/answer/constraints.py)."""

from __future__ import annotations

import pytest

from rag.answer.constraints import antecedent_text, contains
from rag.answer.question import known_names, parse
from rag.language.aliases import document_aliases, expand_query

S27 = ("Following recapitalisation, Microsoft holds an investment in OpenAI Group PBC valued at "
       "$135 billion, representing 27 per cent on an as-converted diluted basis, inclusive of "
       "employees, investors, and the OpenAI Foundation.")
S32 = ("Before OpenAI’s funding rounds, Microsoft held a 32.5 per cent stake on an as-converted "
       "basis in the for-profit entity.")
PANEL = "When OpenAI declares AGI, an independent expert panel will verify the declaration."
KNOWN = {"microsoft", "openai", "google", "amazon", "azure", "agi", "pbc"}


def failed(question: str, sentence: str, context: str = "", **kw) -> tuple[str, ...]:
    return parse(question, known_names=KNOWN, **kw).check(sentence, context).failed


# ---- entities -------------------------------------------------------------------------------------
@pytest.mark.parametrize("question", [
    "What share of OpenAI does Amazon own?",
    "How large is Google's stake in OpenAI?",
    "how much of oai does amazon own",  # lower case, informal
])
def test_a_sentence_about_another_company_is_not_an_answer(question):
    assert any(f.startswith("entity:") for f in failed(question, S27))


def test_names_match_case_insensitively_and_through_aliases():
    assert failed("how much of oai does msft own", S27) == ()
    assert failed("What stake does MICROSOFT hold in openai group pbc?", S27) == ()


def test_the_head_of_an_organisation_name_stands_for_it():
    assert failed("What transition of OpenAI Group PBC does the deal support?",
                  "The deal supports OpenAI’s transition to a public benefit corporation.") == ()


def test_a_name_in_the_preceding_sentence_counts_only_for_a_referring_sentence():
    context = "OpenAI has contracted to purchase $250 billion of Azure services. "
    assert failed("Can OpenAI release open weight models?",
                  "The company can also release open weight models.", context) == ()
    # no reference back: the name in the neighbour doesn't make it about OpenAI
    assert failed("Can OpenAI release open weight models?",
                  "Anthropic can also release open weight models.", context) \
        == ("entity:openai",)


def test_a_new_paragraph_does_not_lean_on_the_previous_one():
    assert antecedent_text("It can also release models.", "OpenAI spends.\n\n") == ""
    assert "openai" in antecedent_text("It can also release models.", "Intro.\n\nOpenAI spends. ")


# ---- numbers, time, ordinals ---------------------------------------------------------------------
def test_a_number_or_year_the_question_gives_must_be_there():
    assert failed("What stake did Microsoft hold in 2019?", S32) == ("number:2019",)
    assert failed("Who holds the 27 per cent stake?", S27) == ()
    # a report's comparative: the figure beside "(2018: ...)" is 2019's
    guarantees = "Guarantees amounted to US$261,518 (2018: US$283,752)."
    assert failed("What were the guarantees in 2019?", guarantees) == ()
    assert failed("What were the guarantees in 2020?", guarantees) == ("number:2020",)


def test_next_or_last_year_in_a_dated_article_names_a_year():
    """"Next year" in an article of September 2024 is 2025; a sentence that says no year is
    not taken to speak of its article's year (older articles would answer for it)."""
    q = parse("Which rapper will headline the 2025 Super Bowl halftime show?", known_names=KNOWN)
    headline = "Dr. Dre and Kendrick Lamar will headline the Super Bowl halftime show next year."
    assert q.check(headline, published="2024-09-13").failed == ()
    assert q.check(headline, published="2025-09-13").failed == ("number:2025",)
    assert q.check(headline).failed == ("number:2025",)  # undated: no year to count from
    won = parse("Who won the 2023 Booker Prize?", known_names=KNOWN)
    assert won.check("Paul Lynch won the Booker Prize on Sunday.",
                     published="2023-11-27").failed == ("number:2023",)
    assert won.check("Last year Paul Lynch won the Booker Prize.",
                     published="2024-09-01").failed == ()


def test_time_qualifiers_select_between_facts():
    assert failed("What stake did Microsoft hold before OpenAI's funding rounds?", S27) \
        == ("time:past",)
    assert failed("What stake did Microsoft hold before OpenAI's funding rounds?", S32) == ()
    assert failed("What stake does Microsoft hold after the recapitalisation?", S32) \
        == ("time:present",)
    assert failed("What stake does Microsoft hold after the recapitalisation?", S27) == ()


def test_ordinals_must_agree():
    assert failed("Who was the first to verify AGI?", PANEL) == ("ordinal:first",)


# ---- roles, counts, measured quantities ---------------------------------------------------------
def test_the_holder_may_not_change():
    assert failed("What stake does OpenAI hold in Microsoft?", S27) == ("role:microsoft",)
    assert "role:microsoft" in failed(
        "What is the OpenAI Foundation's stake in OpenAI Group PBC worth?", S27)
    assert failed("What stake does Microsoft hold in OpenAI?", S27) == ()


def test_the_holder_after_and_is_read_as_the_holder():
    # ", and Microsoft retains ...": the holder is Microsoft, not the word "and"
    s = ("OpenAI remains Microsoft’s frontier model partner, and Microsoft retains Azure API "
         "exclusivity until AGI.")
    assert "role:microsoft" in failed(
        "Until when does OpenAI keep IP rights to Microsoft's models?", s)
    assert "role:microsoft" in failed("Until when does OpenAI retain API exclusivity?", s)
    assert not any(f.startswith("role:") for f in failed(
        "Until when does Microsoft retain Azure API exclusivity?", s))
    # a pronoun after "and" is still read back to its antecedent
    assert not any(f.startswith("role:") for f in failed(
        "What does Microsoft retain?", "Microsoft signed, and it retains its rights.",
        "Microsoft signed."))


def test_a_count_needs_a_number_next_to_the_counted_thing():
    assert failed("How many employees does OpenAI have?", S27) == ("count:employe",)
    assert failed("How many employees does OpenAI have?", "OpenAI has 3,000 employees.") == ()
    assert failed("How many experts sit on the panel?", PANEL) == ("count:expert",)
    # the counted thing is the noun after its modifiers ("antidilutive", "new")
    assert failed("How many antidilutive shares were excluded in 2019?",
                  "There were 268,000 shares in 2019 that were excluded as antidilutive.") == ()
    assert parse("How many new stores opened?").count_noun == "store"


def test_the_measured_thing_must_be_there():
    assert failed("What percentage of its revenue does OpenAI share with Microsoft?", S32) \
        == ("measured:revenu",)


def test_stand_for_needs_the_long_form():
    aliases = {"pbc": "public benefit corporation"}
    assert failed("What does PBC stand for?", S27, aliases=aliases) \
        == ("expansion:public benefit corporation",)
    assert failed("What does PBC stand for?",
                  "The deal supports OpenAI’s transition to a public benefit corporation.",
                  aliases=aliases) == ()


# ---- aliases -------------------------------------------------------------------------------------
def test_documents_define_acronyms():
    text = ("The World Health Organization (WHO) met. NASA (National Aeronautics and Space "
            "Administration) flew. OpenAI Group PBC is a public benefit corporation.")
    assert document_aliases(text) == {
        "who": "world health organization",
        "nasa": "national aeronautics and space administration",
    }


def test_an_acronym_only_used_is_not_guessed_from_initials():
    # words whose initials spell an acronym are mostly chance on real text: the US team is not
    # an "unbeaten streak", nor ROIC "review our internal calculation"
    text = ("The US team extended its unbeaten streak. We review our internal calculation of "
            "ROIC annually. OpenAI Group PBC is a public benefit corporation.")
    assert document_aliases(text) == {}


def test_letters_and_digits_of_a_name_apart_or_not():
    assert contains("opening balance - ifrs 9", "ifrs9") and contains("ifrs9 balance", "ifrs 9")
    assert contains("the covid-19 pandemic", "covid19") and not contains("ifrs 16", "ifrs1")


def test_a_question_that_defines_an_acronym_names_one_thing():
    c = parse("How is Earning Per Share (EPS) calculated?")
    (eps,) = c.entities
    assert eps.forms == {"earning per share", "eps"}
    assert c.check('Earnings per share ("EPS") is calculated using the two-class method.').ok
    (roic,) = parse("How does the company define Return on Invested Capital (ROIC)?").entities
    assert roic.forms == {"return on invested capital", "roic"}


def test_an_acronym_that_is_an_ordinary_word_counts_only_in_capitals():
    aliases = {"who": "world health organization"}
    assert parse("Who leads the project?", aliases=aliases).entities == []
    assert [e.label for e in parse("What did the WHO say?", aliases=aliases).entities] \
        == ["world health organization"]


def test_retrieval_query_gets_the_long_form():
    assert expand_query("What is a PBC?", {"pbc": "public benefit corporation"}) \
        == "What is a PBC? (public benefit corporation)"
    assert expand_query("What is a PBC?", {}) == "What is a PBC?"


def test_known_names_skip_sentence_openings():
    names = known_names(["Following the deal, Microsoft and Google met. The OpenAI board said."])
    assert {"microsoft", "google", "openai"} <= names
    assert "following" not in names and "the" not in names


def test_a_question_about_what_is_not_so_needs_a_negation():
    # (S27 also names investors only in passing, without saying which: unspecified too)
    assert "negation" in failed("Which investors are not included in the diluted basis?", S27)
    assert failed("Which items are not covered by Microsoft's research IP?",
                  "Model weights are excluded from research IP, and Microsoft retains these rights."
                  ) == ()
    # a yes/no question is answered either way
    assert failed("Is Microsoft not holding a stake in OpenAI?", S27) == ()


def test_a_right_holder_swap_is_caught():
    s = "Microsoft no longer has a right of first refusal to be OpenAI’s compute provider."
    assert failed("Does OpenAI have a right of first refusal to be Microsoft's compute provider?",
                  s) == ("role:microsoft",)
    assert failed("Does Microsoft still have a right of first refusal?", s) == ()


@pytest.mark.parametrize(("question", "foreign"), [
    ("¿Cuánto de OpenAI posee Microsoft?", True),
    ("Quelle est la part de Microsoft dans OpenAI?", True),
    ("微软持有OpenAI多少股份？", True),
    ("What stake does Microsoft hold?", False),
    ("who leads la casa de papel", False),
])
def test_questions_in_another_language_are_recognised(question, foreign):
    from rag.language.text import looks_non_english

    assert looks_non_english(question) is foreign


def test_the_role_asked_about_must_be_named():
    assert failed("Who is the chief executive of OpenAI?", PANEL)[-1] == "focus:execut"
    assert "focus:execut" not in failed("Who is Microsoft's CEO?",
                                        "Microsoft's chief executive Satya Nadella said so.")


def test_a_subject_must_be_in_the_sentence_but_a_scoping_name_may_be_the_topic():
    sentence = "The annual NFL Experience was held at the Moscone Center in San Francisco."
    q = "Which building was the NFL Experience held at for Super Bowl 50?"
    # "Super Bowl 50" only scopes the question: the document's short title names it
    assert parse(q).check(sentence, title="Super Bowl 50").ok
    # ... and a headline-length title is not a topic
    check = parse(q).check(sentence, title="OpenAI can now work with Google, Amazon as rivals")
    assert check.ok and check.scope_missing == 1  # left to the scorer
    # the subject ("does Amazon own") is never taken from the title or the passage
    assert not parse("What share of OpenAI does Amazon own?").check(
        S27, topic="Amazon and Google are rivals.").ok


def test_names_match_without_accents_and_as_adjectives():
    assert failed("Who was on Celoron's expedition?",
                  "Céloron's expedition force consisted of about 200 troops.") == ()
    assert failed("When did Germany found its colonies?",
                  "The German colonial empire began in 1884.") == ()
    assert failed("Who was on Austria's team?", "Australia's team won.") == ("entity:austria",)


# ---- what a question asks for must be said, not echoed -----------------------------------------
def test_an_asked_noun_only_repeated_is_not_an_answer():
    criteria = "The company can also release open weight models that meet capability criteria."
    assert failed("What capability criteria must open weight models meet?", criteria) \
        == ("unspecified:criteria",)
    guardrails = ("The agreement extends IP rights to models developed after AGI is achieved, "
                  "with safety guardrails.")
    assert failed("What safety guardrails apply to models developed after AGI?", guardrails) \
        == ("unspecified:guardrail",)
    # a noun followed by the verb it is the subject of is still unspecified
    assert failed("Which third parties is OpenAI developing products with?",
                  "OpenAI products developed with third parties will remain exclusive to Azure.") \
        == ("unspecified:parti",)


def test_an_asked_noun_with_what_specifies_it_passes():
    assert failed("What transition of OpenAI does the deal support?",
                  "The deal supports OpenAI's transition to a public benefit corporation.") == ()
    assert failed("On which cloud providers may OpenAI's products be served?",
                  "OpenAI's non-API products may be served on any cloud provider.") == ()
    assert failed("What stake does Microsoft hold?",
                  "Microsoft holds a 27 per cent stake.") == ()
    assert failed("What rights does Microsoft retain?",
                  "Model weights are excluded, and Microsoft retains these rights.") == ()


def test_what_a_named_holder_has_must_be_there():
    panel = "When OpenAI declares AGI, an independent expert panel will verify the declaration."
    other = "Microsoft's IP rights will remain until the expert panel verifies AGI."
    assert "possessed:declar" in failed("Who will verify Microsoft's declaration of AGI?", other)
    assert "possessed:declar" not in failed("Who will verify OpenAI's declaration of AGI?", panel)
    # a relation ("role") is told without its name, and a time qualifier is checked as time
    assert not any(f.startswith("possessed") for f in failed(
        "What is OpenAI's role for Microsoft?", "OpenAI remains Microsoft's frontier model partner."))
    assert not any(f.startswith("possessed") for f in failed(
        "What stake did Microsoft hold before OpenAI's funding rounds?", S27))


def test_stand_for_needs_a_spelled_out_form():
    assert "expansion" in failed("What does IP stand for in the agreement?",
                                 "The agreement extends Microsoft's IP rights through 2032.")
    assert failed("What does IP stand for?",
                  "It covers intellectual property (IP) of both companies.") == ()


def test_a_sentence_carrying_on_the_previous_ones_topic_inherits_its_names():
    ctx = "OpenAI can now develop products with third parties. "
    sentence = "API products developed with third parties will remain exclusive to Azure."
    c = parse("Which of OpenAI's products stay exclusive to Azure?")
    assert c.check(sentence, ctx).ok
    assert not c.check(sentence, "Microsoft signed the agreement. ").ok  # nothing taken up


def test_alias_forms_are_embedded_as_the_names_they_stand_for():
    users = {"oai": "openai", "msft": "microsoft"}  # a user's aliases file
    assert parse("how much of oai does msft own", aliases=users).canonical == \
        "how much of openai does microsoft own"
    assert parse("how much of oai does msft own").canonical == ""  # no nicknames in the code
    assert parse("Who confirms that artificial general intelligence was reached?").canonical == ""


# ---- small documents: descriptions, events, months, dimensions ----------------------------------
def test_a_definite_description_refers_to_the_name_its_passage_gives():
    topic = "The Hillside Solar Array is owned by the Orchard Valley Energy Cooperative."
    c = parse("When was the solar array commissioned?", known_names=["solar"])
    assert c.check("The array was commissioned on 14 May 2024.", topic=topic, title="").ok
    # the same sentence in a passage that never names the array is not about it
    assert not c.check("The array was commissioned on 14 May 2024.",
                       topic="The bridge opened.").ok


def test_a_definite_subject_leans_on_the_sentences_before_it():
    ctx = "The Eastgate extension of the city tram network opened on Monday. "
    c = parse("How many stops does the Eastgate extension have?")
    assert c.check("The new section is 5.6 kilometres long and has seven stops.", ctx).ok


def test_when_a_beginning_is_asked_an_opening_does_not_answer():
    c = parse("When did construction of the Eastgate extension begin?")
    assert "event:begin" in c.check("The Eastgate extension opened to passengers on Monday.").failed
    assert c.check("Construction of the Eastgate extension started in 2022.").ok
    # an end is told by its limit
    assert parse("When does Microsoft's exclusivity end?").check(
        "Microsoft retains exclusivity until AGI.").ok


def test_a_month_the_question_names_must_be_there():
    c = parse("What was the surface water temperature in July?")
    assert c.check("Surface water reached 24.5 °C in early August.").failed == ("month:july",)
    assert c.check("Surface water reached 22 °C in July.").ok


def test_leading_is_told_in_other_words_but_not_as_running():
    c = parse("Who leads the volunteer programme?")
    assert c.check("The programme is coordinated by Priya Raman.").ok
    assert "verb:lead" in c.check("The programme is run by the Friends of the Library.").failed
    assert parse("Who oversees operations?").check("Operations are overseen by Helen Marsh.").ok


def test_a_copula_subject_specifies_the_asked_noun():
    assert failed("What working fluid is used in a steam turbine?",
                  "Water is the working fluid in the steam turbine.") == ()


def test_another_user_of_the_rights_is_another_holder():
    c = parse("Until when does OpenAI keep IP rights to Microsoft's models?")
    assert any(f.startswith("role:") for f in c.check(
        "If Microsoft uses OpenAI's IP to develop AGI before AGI is declared, the models will be "
        "subject to compute thresholds.").failed)


def test_an_acronym_after_a_possessive_is_no_name_of_its_own():
    assert parse("Who verifies Microsoft's AGI declaration?").possessed == ("declar",)
    assert parse("What year did Levi's Stadium become approved?").possessed == ()


def test_hyphenated_words_of_the_question_are_found_in_the_evidence():
    """"for-profit", "non-API", "second-largest": a compound is one word and its parts."""
    cons = parse("What share of the for-profit entity did Microsoft have before the funding rounds?")
    check = cons.check("Before the recapitalization, Microsoft held a stake of 32.5 percent in "
                       "the OpenAI for-profit.", "")
    assert check.ok, check.failed
    assert not cons.check("Before that, Microsoft held a stake of 32.5 percent in OpenAI.",
                          "").ok


# ---- the checks as classes -------------------------------------------------------------------
def test_each_constraint_is_one_check_built_from_the_question():
    from rag.answer.checks import ANSWER_TYPE, CHECK_KINDS
    from rag.answer.constraints import CHECKS

    assert set(CHECKS) == CHECK_KINDS - {ANSWER_TYPE}  # every kind the veto table knows
    c = parse("How many employees did Amazon have in 2019?")
    assert [chk.kind for chk in c.checks()] == ["entity", "number", "count"]
    assert parse("Where is the museum?").checks() == []  # nothing stated, nothing checked


def test_a_check_can_be_switched_off_by_kind():
    c = parse("How many employees did Amazon have in 2019?")
    sentence = "Microsoft had 221,000 employees in 2019."
    assert c.check(sentence).failed == ("entity:amazon",)
    assert c.check(sentence, skip=frozenset({"entity"})).ok
    assert c.check("Amazon had 798,000 employees in 2018.").failed == ("number:2019",)


def test_a_dates_day_is_a_number_not_a_name():
    c = parse("How many shares were excluded for the year ended September 30, 2019?")
    assert not c.entities and c.numbers == {"30", "2019"}
    assert parse("How many shares were excluded for the year ended September 204, 2019?"
                 ).numbers == {"204", "2019"}


def test_folding_takes_off_every_combining_mark_and_nothing_else():
    import unicodedata

    from rag.answer.constraints import _fold

    def slow(text: str) -> str:  # the definition: every character tested
        return "".join(ch for ch in unicodedata.normalize("NFD", text)
                       if not unicodedata.combining(ch))

    samples = ["Céloron de Blainville", "plain ASCII text", "“curly” quotes – and dashes",
               "Ünïcödé ñ Å ǅ ḱ ẞ ﬁ", "".join(chr(c) for c in range(0x250, 0x2100)),
               "Devanagari: हिन्दी, Hebrew: שָׁלוֹם, Vietnamese: Tiếng Việt"]
    for text in samples:
        assert _fold(text) == slow(text)
    assert _fold("Céloron") == "Celoron"
    assert contains("céloron founded the fort", "celoron")
