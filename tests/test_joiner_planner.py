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
        ('  "Paris"\n', "finish", "Paris", ""),
        ('Thought: n\nAction: Finish({"a": (1, 2)})', "finish", '{"a": (1, 2)}', "n"),
        ("Thought: blank lines\n\n\n  \n  Action: Finish(ok)", "finish", "ok", "blank lines"),
        ("Thought:\nAction: Finish(no thought)", "finish", "no thought", ""),
        ("Thought: a\nAction: search(x)\nAction: Replan(b)", "replan", "b", "a"),
    ],
)
def test_parse_decision(text, action, content, thought):
    decision = parse_decision(text)
    assert decision is not None
    assert (decision.action, decision.content, decision.thought) == (action, content, thought)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t\n",
        # reasoning without a decision: its thought is not an answer
        "Thought: only a thought",
        "Thought: I need the height of K2 first.\n",
        # an Action that is neither Finish nor Replan
        "Thought: t\nAction: search('K2')",
        "Action: Answer(42)",
        "Action:",
    ],
)
def test_a_reply_without_finish_or_replan_is_no_decision(text):
    assert parse_decision(text) is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Thought: a" + "\n" * 200_000 + "b", None),
        ("Thought: a" + "\n " * 200_000 + "Action: Finish(x)", ("finish", "x", "a")),
        ("Action" + " " * 200_000 + ": Finish(" + "(" * 200_000, ("finish", "(" * 200_000, "")),
        ("Thought: " * 100_000, None),
        (("Action: Finish(" + " " * 50) * 20_000 + "Action: Replan(why)", ("replan", "why", "")),
    ],
    ids=["blank-lines", "spaced-blank-lines", "spaces-after-action", "many-thoughts", "many-actions"],
)
def test_long_whitespace_runs_are_read_in_one_pass(text, expected):
    # The first two took seconds to minutes with a backtracking thought pattern; read in one
    # pass they are instant. No timing assertion: the test timeout is the guard.
    decision = parse_decision(text)
    assert (decision and (decision.action, decision.content, decision.thought)) == expected


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
