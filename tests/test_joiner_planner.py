from __future__ import annotations

import pytest

from llmcompiler.agents.joiner import joiner_messages, parse_decision, render_scratchpad
from llmcompiler.agents.planner import EarlierRound, planner_messages


@pytest.mark.parametrize(
    "text, action, content, thought",
    [
        ("Thought: easy.\nAction: Finish(42)", "finish", "42", "easy."),
        ("Thought: a\nAction: Finish(The Eiffel Tower (Paris))", "finish", "The Eiffel Tower (Paris)", "a"),
        ('Thought: q\nAction: Finish("yes")', "finish", "yes", "q"),
        ("Thought: q\nAction: Finish('it's fine')", "finish", "'it's fine'", "q"),
        ("Thought: x\nAction: Finish(line one\nline two)", "finish", "line one\nline two", "x"),
        ("Thought: missing data\nAction: Replan(need the height of K2)", "replan", "need the height of K2", "missing data"),
        ("Thought: t\nAction: Finish(unclosed answer", "finish", "unclosed answer", "t"),
        ("Thought: t\nAction:Finish(x) ", "finish", "x", "t"),
        ("Thought: first Action: Replan(no) idea\nAction: Finish(final)", "finish", "final", "first Action: Replan(no) idea"),
        ("Thought: multi\nline thought\nAction: Finish(a, b and c)", "finish", "a, b and c", "multi\nline thought"),
        ("thought: lower\naction: finish(ok)", "finish", "ok", "lower"),
        ("Just an answer without format", "finish", "Just an answer without format", ""),
        ("Thought: only a thought", "finish", "only a thought", "only a thought"),
        ('Thought: n\nAction: Finish({"a": (1, 2)})', "finish", '{"a": (1, 2)}', "n"),
    ],
)
def test_parse_decision(text, action, content, thought):
    decision = parse_decision(text)
    assert (decision.action, decision.content, decision.thought) == (action, content, thought)


def test_joiner_messages_carry_question_results_and_last_round_rule():
    pad = render_scratchpad([("why", '1. search("x")', "found x"), (None, "2. math(1)", "ERROR: ValueError: bad")])
    assert pad == 'Thought: why\n1. search("x")\nObservation: found x\n2. math(1)\nObservation: ERROR: ValueError: bad'
    messages = joiner_messages(question="What?", scratchpad=pad, examples="Question: e\nAction: Finish(e)")
    assert messages[0].role == "system" and "Action: Replan" in messages[0].content
    assert "Question: e" in messages[0].content
    assert "Question: What?" in messages[1].content and pad in messages[1].content
    assert "last round" not in messages[1].content
    last = joiner_messages(question="What?", scratchpad=pad, last_round=True)
    assert "last round" in last[1].content and "not allowed in this round" in last[0].content


def test_planner_messages_list_tools_examples_and_replan_context():
    messages = planner_messages(
        question="How tall?",
        tool_lines=["search(query: str) -> str: Look it up.", "math(problem: str) -> float: Compute."],
        examples="Question: sample\n1. search('s')\n2. join()<END_OF_PLAN>",
    )
    prompt = messages[0].content
    assert "1. search(query: str) -> str: Look it up." in prompt
    assert "2. math(problem: str) -> float: Compute." in prompt
    assert "3. join()" in prompt
    assert "counting up from 1" in prompt
    assert "Question: sample" in prompt
    assert messages[1].content == "Question: How tall?"

    replan = planner_messages(
        question="How tall?",
        tool_lines=["search(query: str) -> str: Look it up."],
        first_id=4,
        earlier=[EarlierRound('1. search("x")\nObservation: 8848 m', "K2 is missing", "look up K2")],
    )
    request = replan[1].content
    assert "counting up from 4" in replan[0].content
    assert "Observation: 8848 m" in request and "K2 is missing" in request and "look up K2" in request
    assert "Number the new calls from 4" in request
