"""Checks as measured evidence (eval/train/vetoes.py): replaying decisions with one check off."""

from __future__ import annotations

from eval.records import EvalSample
from eval.train.vetoes import Candidate, Question, decide, is_right, markdown, table


def q(answerable: bool, *cands: Candidate) -> Question:
    return Question(answerable, list(cands))


def c(score: float, right: bool = False, failed: tuple[str, ...] = (),
      blocked: bool = False) -> Candidate:
    return Candidate(score, frozenset(failed), blocked, right)


def test_decide_answers_with_the_best_eligible_sentence():
    question = q(True, c(0.9, right=False, failed=("entity",)), c(0.6, right=True))
    assert decide(question, frozenset({"entity"}), 0.5)  # the vetoed wrong one is skipped
    assert not decide(question, frozenset(), 0.5)  # without the veto the wrong one wins
    assert not decide(question, frozenset({"entity"}), 0.7)  # below the threshold: abstain


def test_an_unanswerable_question_is_right_only_when_abstained():
    question = q(False, c(0.8, failed=("number",)))
    assert decide(question, frozenset({"number"}), 0.5)
    assert not decide(question, frozenset(), 0.5)
    assert decide(q(False, c(0.9, blocked=True)), frozenset(), 0.5)


def test_the_table_counts_helps_and_harms_per_check():
    questions = [
        q(False, c(0.8, failed=("entity",))),  # entity stops a wrong answer
        q(True, c(0.8, right=True, failed=("entity",))),  # ... and vetoes a right one
        q(True, c(0.8, right=True, failed=("time",))),  # time vetoes a right one
    ] + [q(False, c(0.8, failed=("number",)))] * 5  # number stops five
    rows = {r["check"]: r for r in table(questions, 0.5, kinds=("entity", "number", "time"))}
    assert (rows["entity"]["stops_wrong"], rows["entity"]["vetoes_right"]) == (1, 1)
    assert rows["entity"]["precision"] == 0.5 and not rows["entity"]["veto"]
    assert rows["number"]["precision"] == 1.0 and rows["number"]["veto"]
    assert rows["time"]["precision"] == 0.0 and not rows["time"]["veto"]
    text = markdown(list(rows.values()), ["toy"], len(questions))
    assert "| number | 5 | 0 | 1.000 |" in text and "| time | 0 | 1 | 0.000 |" in text


def test_right_is_judged_by_the_labels_of_each_kind_of_set():
    quiz = EvalSample(id="1", question="Which team won?", references=["New Zealand"],
                      distractors=["Canada"])
    assert is_right(quiz, "New Zealand won the opening game.")
    assert not is_right(quiz, "New Zealand and Canada both won.")
    wiki = EvalSample(id="2", question="how tall is x", references=["X is 3 m tall."],
                      evidence=["X is 3 m tall."], tags=["wikiqa"])
    assert is_right(wiki, "X is 3 m tall.")
    squad = EvalSample(id="3", question="Who?", references=["Jane Roe"])
    assert is_right(squad, "It was Jane Roe.") and not is_right(squad, "It was John.")
    assert not is_right(EvalSample(id="4", question="?", answerable=False), "Anything.")


def test_set_arguments_name_a_dataset_and_a_store():
    from pathlib import Path

    import pytest

    from eval.train.vetoes import parse_sets

    assert parse_sets(["news=/d/q.jsonl:/s/store"], "--set") == [
        ("news", Path("/d/q.jsonl"), Path("/s/store"))]
    with pytest.raises(ValueError, match="NAME=DATASET:STORE"):
        parse_sets(["news"], "--set")
