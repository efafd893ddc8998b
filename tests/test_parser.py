"""Table-driven tests of the streaming plan parser.

Every plan in `CASES` is checked whole, under every split into two chunks, one character
at a time, and under a few random multi-chunk splits: all must give exactly the expected
tasks (whole `Task` dataclasses, error messages included).
"""

from __future__ import annotations

import random

import pytest

from llmcompiler.plan.parser import END_OF_PLAN, PlanParser
from llmcompiler.plan.task import JOIN, Ref, Task

TOOLS = ("search", "math", "calc")
UNKNOWN = "(available: calc, math, search)"
NOT_LITERAL = "is not a literal (use strings, numbers, lists, dicts or $N)"


def T(idx, tool, text, *args, deps=(), thought=None, error=None, **kwargs):
    """Shorthand for an expected task: positional tool args after `text`, tool kwargs last."""
    return Task(idx, tool, tuple(args), kwargs, tuple(deps), thought, text, error)


def parse(chunks, **options):
    parser = PlanParser(TOOLS, **options)
    out = []
    for chunk in chunks:
        out.extend(parser.feed(chunk))
    out.extend(parser.close())
    return out


# (name, plan text, expected tasks, parser options)
CASES = [
    # -- well-formed plans ------------------------------------------------------------
    (
        "paper_example",
        "Thought: optional reasoning, attached to the next action\n"
        '1. search("Mount Everest")\n'
        '2. search(entity="K2")\n'
        '3. math("height difference in meters", context=["$1", "$2"])\n'
        "4. join()<END_OF_PLAN>",
        [
            T(1, "search", '1. search("Mount Everest")', "Mount Everest",
              thought="optional reasoning, attached to the next action"),
            T(2, "search", '2. search(entity="K2")', entity="K2"),
            T(3, "math", '3. math("height difference in meters", context=["$1", "$2"])',
              "height difference in meters", context=[Ref(1), Ref(2)], deps=(1, 2)),
            T(4, JOIN, "4. join()", deps=(1, 2, 3)),
        ],
        {},
    ),
    (
        "positional_and_keyword",
        "1. search(\"Everest\", 3, k=5, exact=True, lang='en')\n",
        [T(1, "search", "1. search(\"Everest\", 3, k=5, exact=True, lang='en')", "Everest", 3,
           k=5, exact=True, lang="en")],
        {},
    ),
    (
        "nested_containers",
        '1. calc([1, [2, 3]], (4, (5,)), {"a": [1, {"b": (6,)}], 7: None}, '
        'empty=([], (), {}), tags={"x"})\n',
        [T(1, "calc", '1. calc([1, [2, 3]], (4, (5,)), {"a": [1, {"b": (6,)}], 7: None}, '
           'empty=([], (), {}), tags={"x"})',
           [1, [2, 3]], (4, (5,)), {"a": [1, {"b": (6,)}], 7: None},
           empty=([], (), {}), tags={"x"})],
        {},
    ),
    (
        "no_arguments_and_trailing_comma",
        '1. search()\n2. search("x", k=2,)\n',
        [T(1, "search", "1. search()"), T(2, "search", '2. search("x", k=2,)', "x", k=2)],
        {},
    ),
    (
        "bare_references",
        '1. search("a")\n2. search("b")\n3. math($1, ${2}, key=$1)\n',
        [
            T(1, "search", '1. search("a")', "a"),
            T(2, "search", '2. search("b")', "b"),
            T(3, "math", "3. math($1, ${2}, key=$1)", Ref(1), Ref(2), key=Ref(1), deps=(1, 2)),
        ],
        {},
    ),
    (
        "references_inside_strings",
        '1. search("a")\n2. search("$1")\n'
        '3. math("compare $1 with ${2}0 and $2", "${1}", " $1")\n',
        [
            T(1, "search", '1. search("a")', "a"),
            T(2, "search", '2. search("$1")', Ref(1), deps=(1,)),
            T(3, "math", '3. math("compare $1 with ${2}0 and $2", "${1}", " $1")',
              "compare $1 with ${2}0 and $2", Ref(1), " $1", deps=(1, 2)),
        ],
        {},
    ),
    (
        "references_nested_in_containers",
        '1. search("a")\n2. search("b")\n'
        '3. math({"$1": [$2, ("${1}", "x $2")]}, opts={"k": [${2}]})\n',
        [
            T(1, "search", '1. search("a")', "a"),
            T(2, "search", '2. search("b")', "b"),
            T(3, "math", '3. math({"$1": [$2, ("${1}", "x $2")]}, opts={"k": [${2}]})',
              {Ref(1): [Ref(2), (Ref(1), "x $2")]}, opts={"k": [Ref(2)]}, deps=(1, 2)),
        ],
        {},
    ),
    (
        "multi_digit_ids",
        '9. search("a")\n10. search("b")\n11. math($10, "${9}1")\n',
        [
            T(9, "search", '9. search("a")', "a"),
            T(10, "search", '10. search("b")', "b"),
            T(11, "math", '11. math($10, "${9}1")', Ref(10), "${9}1", deps=(9, 10)),
        ],
        {},
    ),
    (
        "thoughts_multi_line",
        "Thought: First find both heights.\nThey are on Wikipedia.\n"
        '1. search("Everest")\n2. search("K2")\n'
        "Thought: Now compare.\n3. math(\"diff\", [$1, $2])\n",
        [
            T(1, "search", '1. search("Everest")', "Everest",
              thought="First find both heights.\nThey are on Wikipedia."),
            T(2, "search", '2. search("K2")', "K2"),
            T(3, "math", '3. math("diff", [$1, $2])', "diff", [Ref(1), Ref(2)], deps=(1, 2),
              thought="Now compare."),
        ],
        {},
    ),
    (
        "thought_with_blank_lines_and_fences",
        'Thought: plan it\n\n```\nstill thinking\n1. search("x")\n```\n2. join()\n',
        [
            T(1, "search", '1. search("x")', "x", thought="plan it\nstill thinking"),
            T(2, JOIN, "2. join()", deps=(1,)),
        ],
        {},
    ),
    (
        "thought_attaches_to_failed_task",
        'Thought: try a tool\n1. fly("x")\n2. search("y")\n',
        [
            T(1, "fly", '1. fly("x")', "x", thought="try a tool",
              error=f"unknown tool 'fly' {UNKNOWN}"),
            T(2, "search", '2. search("y")', "y"),
        ],
        {},
    ),
    (
        "preamble_and_code_fences",
        'Here is the plan:\n```\n1. search("x")\n2. join()\n```\n',
        [T(1, "search", '1. search("x")', "x"), T(2, JOIN, "2. join()", deps=(1,))],
        {},
    ),
    (
        "end_marker_on_its_own_line",
        f'1. search("x")\n2. join()\n{END_OF_PLAN}\n3. search("ignored")\n',
        [T(1, "search", '1. search("x")', "x"), T(2, JOIN, "2. join()", deps=(1,))],
        {},
    ),
    (
        "text_after_end_marker_ignored",
        f'1. search("x")\n2. join(){END_OF_PLAN}\nThought: more\n3. search("y")\n4. join()\n',
        [T(1, "search", '1. search("x")', "x"), T(2, JOIN, "2. join()", deps=(1,))],
        {},
    ),
    (
        "text_after_end_marker_same_line",
        f'1. search("x")\n2. join(){END_OF_PLAN} 3. search("y")\n4. search("z")',
        [T(1, "search", '1. search("x")', "x"), T(2, JOIN, "2. join()", deps=(1,))],
        {},
    ),
    (
        "end_marker_without_join",
        f'1. search("x")\n{END_OF_PLAN}\n2. search("y")',
        [T(1, "search", '1. search("x")', "x")],
        {},
    ),
    (
        "end_marker_inside_a_string_is_not_the_end",
        f'1. search("say {END_OF_PLAN}")\n2. join()\n',
        [T(1, "search", f'1. search("say {END_OF_PLAN}")', f"say {END_OF_PLAN}"),
         T(2, JOIN, "2. join()", deps=(1,))],
        {},
    ),
    (
        "end_marker_after_a_call_that_mentions_it",
        f'1. search("{END_OF_PLAN}"){END_OF_PLAN}\n2. search("y")\n',
        [T(1, "search", f'1. search("{END_OF_PLAN}")', END_OF_PLAN)],
        {},
    ),
    (
        "stream_ends_without_newline",
        '1. search("x")\n2. join()',
        [T(1, "search", '1. search("x")', "x"), T(2, JOIN, "2. join()", deps=(1,))],
        {},
    ),
    (
        "trailing_comments",
        '1. search("x")  # look it up\n2. math($1) # not $7\n3. join() # done\n',
        [
            T(1, "search", '1. search("x")', "x"),
            T(2, "math", "2. math($1)", Ref(1), deps=(1,)),
            T(3, JOIN, "3. join()", deps=(1, 2)),
        ],
        {},
    ),
    (
        "text_after_the_call_ignored",
        '1. search("x")) and then some ($9\n2. join()\n',
        [T(1, "search", '1. search("x")', "x"), T(2, JOIN, "2. join()", deps=(1,))],
        {},
    ),
    (
        "blank_lines_and_indentation",
        '\n\n   1. search("x")\n\n\t2. search("y")   \n\n3. join()\n\n',
        [
            T(1, "search", '1. search("x")', "x"),
            T(2, "search", '2. search("y")', "y"),
            T(3, JOIN, "3. join()", deps=(1, 2)),
        ],
        {},
    ),
    (
        "crlf_line_endings",
        f'Thought: a\r\nb\r\n1. search("x")\r\n2. math($1)\r\n3. join(){END_OF_PLAN}\r\n',
        [
            T(1, "search", '1. search("x")', "x", thought="a\nb"),
            T(2, "math", "2. math($1)", Ref(1), deps=(1,)),
            T(3, JOIN, "3. join()", deps=(1, 2)),
        ],
        {},
    ),
    (
        "spaces_inside_the_header",
        '  12 .  search ( "x" , k = 2 )\n',
        [T(12, "search", '12 .  search ( "x" , k = 2)', "x", k=2)],
        {},
    ),
    (
        "repair_missing_paren",
        '1. search("Everest"\n2. math($1\n',
        [
            T(1, "search", '1. search("Everest")', "Everest"),
            T(2, "math", "2. math($1)", Ref(1), deps=(1,)),
        ],
        {},
    ),
    (
        "repair_missing_brackets_and_paren",
        '1. math([1, 2\n2. math({"a": [$1, (3\n',
        [
            T(1, "math", "1. math([1, 2])", [1, 2]),
            T(2, "math", '2. math({"a": [$1, (3)]})', {"a": [Ref(1), 3]}, deps=(1,)),
        ],
        {},
    ),
    (
        "repair_at_end_of_stream",
        '1. search("x", k=[1',
        [T(1, "search", '1. search("x", k=[1])', "x", k=[1])],
        {},
    ),
    (
        "repair_before_a_comment",
        '1. search("x", k=2  # two results\n',
        [T(1, "search", '1. search("x", k=2)', "x", k=2)],
        {},
    ),
    (
        "repair_before_end_marker",
        f'1. search("x"\n2. join({END_OF_PLAN}\n3. search("y")',
        [T(1, "search", '1. search("x")', "x"), T(2, JOIN, "2. join()", deps=(1,))],
        {},
    ),
    (
        "json_literals",
        "1. math(true, false, null, flags=[true, null])\n",
        [T(1, "math", "1. math(true, false, null, flags=[true, null])", True, False, None,
           flags=[True, None])],
        {},
    ),
    (
        "numbers",
        "1. math(-1, -2.5, +3, [-4, 1e3], 0x10, 1_000, offset=-7)\n",
        [T(1, "math", "1. math(-1, -2.5, +3, [-4, 1e3], 0x10, 1_000, offset=-7)",
           -1, -2.5, 3, [-4, 1000.0], 16, 1000, offset=-7)],
        {},
    ),
    (
        "triple_quoted_strings",
        '1. search("""he said "hi" (twice)""", \'\'\'it\'s [here]\'\'\')\n',
        [T(1, "search", '1. search("""he said "hi" (twice)""", \'\'\'it\'s [here]\'\'\')',
           'he said "hi" (twice)', "it's [here]")],
        {},
    ),
    (
        "escaped_quotes_and_backslashes",
        r"""1. search("say \"hi\")", 'it\'s', "C:\\dir\\", "tab\there")""" "\n",
        [T(1, "search", r"""1. search("say \"hi\")", 'it\'s', "C:\\dir\\", "tab\there")""",
           'say "hi")', "it's", "C:\\dir\\", "tab\there")],
        {},
    ),
    (
        "brackets_and_hash_inside_strings",
        '1. search("f(x) # not a comment", "[{(", \')\', k="#1 $ sign")\n2. join()\n',
        [
            T(1, "search", '1. search("f(x) # not a comment", "[{(", \')\', k="#1 $ sign")',
              "f(x) # not a comment", "[{(", ")", k="#1 $ sign"),
            T(2, JOIN, "2. join()", deps=(1,)),
        ],
        {},
    ),
    (
        "unicode",
        '1. search("Zürich — 東京 ✓")\n',
        [T(1, "search", '1. search("Zürich — 東京 ✓")', "Zürich — 東京 ✓")],
        {},
    ),
    (
        "join_without_parentheses",
        '1. search("x")\n2. join\n',
        [T(1, "search", '1. search("x")', "x"), T(2, JOIN, "2. join", deps=(1,))],
        {},
    ),
    (
        "join_without_parentheses_with_comment",
        '1. search("x")\n2. join  # done\n',
        [T(1, "search", '1. search("x")', "x"), T(2, JOIN, "2. join  # done", deps=(1,))],
        {},
    ),
    (
        "join_without_parentheses_then_marker",
        f'1. search("x")\n2. join{END_OF_PLAN}\n3. search("y")',
        [T(1, "search", '1. search("x")', "x"), T(2, JOIN, "2. join", deps=(1,))],
        {},
    ),
    (
        "join_arguments_are_dropped",
        '1. search("x")\n2. join("$1", k=1)\n',
        [T(1, "search", '1. search("x")', "x"), T(2, JOIN, '2. join("$1", k=1)', deps=(1,))],
        {},
    ),
    ("empty_text", "", [], {}),
    ("only_the_end_marker", END_OF_PLAN, [], {}),
    # -- malformed plans ----------------------------------------------------------------
    (
        "unknown_tool",
        '1. search("a")\n2. fly("x", speed=$1)\n3. math($2)\n',
        [
            T(1, "search", '1. search("a")', "a"),
            T(2, "fly", '2. fly("x", speed=$1)', "x", speed=Ref(1), deps=(1,),
              error=f"unknown tool 'fly' {UNKNOWN}"),
            # depends on the failed task; skipping it is the runtime's job
            T(3, "math", "3. math($2)", Ref(2), deps=(2,)),
        ],
        {},
    ),
    (
        "expression_argument",
        "1. math(1 + 2)\n",
        [T(1, "math", "1. math(1 + 2)",
           error=f"cannot parse the arguments of math(1 + 2): '1 + 2' {NOT_LITERAL}")],
        {},
    ),
    (
        "expression_with_a_reference",
        '1. search("a")\n2. math($1 * 2)\n',
        [
            T(1, "search", '1. search("a")', "a"),
            T(2, "math", "2. math($1 * 2)",
              error=f"cannot parse the arguments of math($1 * 2): '$1 * 2' {NOT_LITERAL}"),
        ],
        {},
    ),
    (
        "f_string",
        '1. search(f"{x} info")\n',
        [T(1, "search", '1. search(f"{x} info")',
           error=f'cannot parse the arguments of search(f"{{x}} info"): '
                 f'"f\'{{x}} info\'" {NOT_LITERAL}')],
        {},
    ),
    (
        "name_argument",
        "1. search(query)\n",
        [T(1, "search", "1. search(query)",
           error=f"cannot parse the arguments of search(query): 'query' {NOT_LITERAL}")],
        {},
    ),
    (
        "star_args",
        "1. search(*queries)\n",
        [T(1, "search", "1. search(*queries)",
           error="cannot parse the arguments of search(*queries): *args are not allowed")],
        {},
    ),
    (
        "double_star_kwargs",
        "1. search(**opts)\n2. calc({**opts})\n",
        [
            T(1, "search", "1. search(**opts)",
              error="cannot parse the arguments of search(**opts): **kwargs are not allowed"),
            T(2, "calc", "2. calc({**opts})",
              error="cannot parse the arguments of calc({**opts}): ** inside a dict is not allowed"),
        ],
        {},
    ),
    (
        "dollar_without_a_number",
        "1. search($x)\n2. search($)\n",
        [
            T(1, "search", "1. search($x)",
              error="cannot parse the arguments of search($x): "
                    "'$' must be followed by a task number, at '$x'"),
            T(2, "search", "2. search($)",
              error="cannot parse the arguments of search($): "
                    "'$' must be followed by a task number, at '$'"),
        ],
        {},
    ),
    (
        "positional_after_keyword",
        '1. search(k=1, "x")\n',
        [T(1, "search", '1. search(k=1, "x")',
           error='cannot parse the arguments of search(k=1, "x"): '
                 "positional argument follows keyword argument")],
        {},
    ),
    (
        "repeated_keyword",
        "1. search(k=1, k=2)\n",
        [T(1, "search", "1. search(k=1, k=2)",
           error="cannot parse the arguments of search(k=1, k=2): keyword argument repeated: k")],
        {},
    ),
    (
        "unhashable_dict_key",
        '1. calc({[1, 2]: "x"})\n',
        [T(1, "calc", '1. calc({[1, 2]: "x"})',
           error='cannot parse the arguments of calc({[1, 2]: "x"}): '
                 "\"{[1, 2]: 'x'}\" has an unhashable key or element")],
        {},
    ),
    (
        "forward_reference",
        '1. search($2)\n2. search("x")\n',
        [
            T(1, "search", "1. search($2)", Ref(2),
              error="$2 is a forward reference (task 1 can only use earlier results)"),
            T(2, "search", '2. search("x")', "x"),
        ],
        {},
    ),
    (
        "self_reference",
        '1. search("a")\n2. math("$2 and $1")\n',
        [
            T(1, "search", '1. search("a")', "a"),
            T(2, "math", '2. math("$2 and $1")', "$2 and $1", deps=(1,),
              error="$2 refers to the task itself"),
        ],
        {},
    ),
    (
        "missing_reference",
        '1. search("a")\n3. math($2)\n4. math("$0")\n',
        [
            T(1, "search", '1. search("a")', "a"),
            T(3, "math", "3. math($2)", Ref(2), error="$2 does not refer to any earlier task"),
            T(4, "math", '4. math("$0")', Ref(0), error="$0 does not refer to any earlier task"),
        ],
        {},
    ),
    (
        "reference_to_a_failed_task",
        '1. search(query)\n2. math($1)\n',
        [
            T(1, "search", "1. search(query)",
              error=f"cannot parse the arguments of search(query): 'query' {NOT_LITERAL}"),
            T(2, "math", "2. math($1)", Ref(1), deps=(1,)),
        ],
        {},
    ),
    (
        "duplicate_id",
        '1. search("a")\n1. search("b")\n2. math($1)\n3. join()\n',
        [
            T(1, "search", '1. search("a")', "a"),
            T(1, "search", '1. search("b")', "b", error="duplicate task id 1"),
            T(2, "math", "2. math($1)", Ref(1), deps=(1,)),
            T(3, JOIN, "3. join()", deps=(1, 2)),
        ],
        {},
    ),
    (
        "second_join",
        '1. search("a")\n2. join()\n3. join()\n',
        [
            T(1, "search", '1. search("a")', "a"),
            T(2, JOIN, "2. join()", deps=(1,)),
            T(3, JOIN, "3. join()", error="a second join() in one plan"),
        ],
        {},
    ),
    (
        "task_after_join",
        '1. search("a")\n2. join()\n3. search($1)\n',
        [
            T(1, "search", '1. search("a")', "a"),
            T(2, JOIN, "2. join()", deps=(1,)),
            T(3, "search", "3. search($1)", Ref(1), deps=(1,), error="task after join() ($2)"),
        ],
        {},
    ),
    (
        "unterminated_string",
        "1. search(\"abc\n2. search('ok')\n",
        [
            T(1, "search", '1. search("abc', error="unterminated string in the arguments"),
            T(2, "search", "2. search('ok')", "ok"),
        ],
        {},
    ),
    (
        "unterminated_triple_quoted_string",
        '1. search("""abc")\n',
        [T(1, "search", '1. search("""abc")', error="unterminated string in the arguments")],
        {},
    ),
    (
        "mismatched_brackets",
        '1. math([1, 2)\n2. math({"a": 1])\n',
        [
            T(1, "math", "1. math([1, 2)", error="unbalanced brackets in '1. math([1, 2)'"),
            T(2, "math", '2. math({"a": 1])',
              error="unbalanced brackets in '2. math({\"a\": 1])'"),
        ],
        {},
    ),
    (
        "numbered_line_that_is_not_a_call",
        'Thought: t\n1. Search the web for "K2"\n2. search("K2")\n',
        [
            T(1, "", '1. Search the web for "K2"', thought="t",
              error="not a tool call: 'Search the web for \"K2\"'"),
            T(2, "search", '2. search("K2")', "K2"),
        ],
        {},
    ),
    # -- replanning ---------------------------------------------------------------------
    (
        "replan_with_known_ids",
        '5. math($1, "$3 and ${2}")\n2. search("again")\n6. search($4)\n'
        '7. search("${5}")\n8. join()\n',
        [
            T(5, "math", '5. math($1, "$3 and ${2}")', Ref(1), "$3 and ${2}", deps=(1, 2, 3)),
            T(2, "search", '2. search("again")', "again",
              error="duplicate task id 2 (used in an earlier round; continue from 5)"),
            T(6, "search", "6. search($4)", Ref(4), error="$4 does not refer to any earlier task"),
            T(7, "search", '7. search("${5}")', Ref(5), deps=(5,)),
            T(8, JOIN, "8. join()", deps=(5, 6, 7)),
        ],
        {"first_id": 5, "known_ids": {1, 2, 3}},
    ),
    (
        "replan_default_known_ids",
        '4. math($1, $3)\n1. search("x")\n5. join()\n',
        [
            T(4, "math", "4. math($1, $3)", Ref(1), Ref(3), deps=(1, 3)),
            T(1, "search", '1. search("x")', "x",
              error="duplicate task id 1 (used in an earlier round; continue from 4)"),
            T(5, JOIN, "5. join()", deps=(4,)),
        ],
        {"first_id": 4},
    ),
]

CASE_PARAMS = [pytest.param(text, expected, options, id=name) for name, text, expected, options in CASES]


def test_table_is_large_and_names_are_unique():
    assert len(CASES) >= 45
    assert len({name for name, *_ in CASES}) == len(CASES)


@pytest.mark.parametrize(("text", "expected", "options"), CASE_PARAMS)
def test_whole_text(text, expected, options):
    assert parse([text], **options) == expected


@pytest.mark.parametrize(("text", "expected", "options"), CASE_PARAMS)
def test_every_two_chunk_split(text, expected, options):
    for cut in range(len(text) + 1):
        got = parse([text[:cut], text[cut:]], **options)
        assert got == expected, f"split at {cut}: {text[:cut]!r} | {text[cut:]!r}"


@pytest.mark.parametrize(("text", "expected", "options"), CASE_PARAMS)
def test_one_character_at_a_time(text, expected, options):
    assert parse(list(text), **options) == expected


@pytest.mark.parametrize(("text", "expected", "options"), CASE_PARAMS)
def test_random_multi_chunk_splits(text, expected, options):
    rng = random.Random(len(text) * 7919 + 17)
    for _ in range(8):
        cuts = sorted(rng.sample(range(len(text) + 1), min(len(text) + 1, rng.randint(2, 12))))
        chunks = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
        assert parse(chunks, **options) == expected, chunks


# -- emission timing -------------------------------------------------------------------


def _emission_points(text):
    """Feed `text` one character at a time; map each emitted task's id to the index of
    the character whose feed() returned it (None for tasks that came out of close())."""
    parser = PlanParser(TOOLS)
    points = {}
    for i, char in enumerate(text):
        for task in parser.feed(char):
            points[task.idx] = i
    for task in parser.close():
        points[task.idx] = None
    return points


def test_task_is_emitted_by_the_feed_that_delivers_its_closing_paren():
    lines = [
        '1. search("a (b) [c]", k=[1, (2, 3)], d={"x": ")"})',
        "2. search('')",
        '3. search("""x""")',
        '4. search("a\\\\")',
        "5. math($1, \"${2}\")  # trailing ) comment",
        f"6. join(){END_OF_PLAN}",
    ]
    text = "\n".join(lines) + "\n"
    expected, offset = {}, 0
    for line in lines:
        close = line.rindex(")", 0, line.index("#") if "#" in line else len(line))
        expected[int(line.split(".")[0])] = offset + close
        offset += len(line) + 1
    assert _emission_points(text) == expected


def test_closing_paren_alone_in_a_chunk():
    parser = PlanParser(TOOLS)
    assert parser.feed("Thought: go\n1. search(") == []
    assert parser.feed('"x"') == []
    assert parser.feed(")") == [T(1, "search", '1. search("x")', "x", thought="go")]
    assert parser.feed("  # done\n2. join(") == []
    assert parser.feed(")") == [T(2, JOIN, "2. join()", deps=(1,))]
    assert parser.feed(END_OF_PLAN) == []
    assert parser.close() == []


def test_nothing_is_emitted_before_the_closing_paren():
    line = '1. calc("a)b", [1, 2], {"k": (3, ")")}, \'\'\'q)\'\'\', x="\\")")'
    for cut in range(len(line)):
        parser = PlanParser(TOOLS)
        assert parser.feed(line[:cut]) == [], cut
        emitted = parser.feed(line[cut:])
        assert [t.idx for t in emitted] == [1], cut
        assert emitted[0].error is None
    assert emitted[0].args == ("a)b", [1, 2], {"k": (3, ")")}, "q)")
    assert emitted[0].kwargs == {"x": '")'}


def test_join_is_emitted_before_the_end_marker_arrives():
    parser = PlanParser(TOOLS)
    assert [t.idx for t in parser.feed('1. search("x")\n2. join()')] == [1, 2]
    assert not parser.ended
    assert parser.feed(END_OF_PLAN + "\n3. search(") == []
    assert parser.ended
    assert parser.feed('"y")\n') == []
    assert parser.close() == []


# -- lifecycle and robustness -----------------------------------------------------------


def test_feed_after_close_raises():
    parser = PlanParser(TOOLS)
    assert parser.feed('1. search("x"') == []
    assert parser.close() == [T(1, "search", '1. search("x")', "x")]
    assert parser.close() == []
    with pytest.raises(RuntimeError):
        parser.feed("2. join()")


def test_tools_may_be_objects_with_a_name():
    class Tool:
        def __init__(self, name):
            self.name = name

    parser = PlanParser([Tool("search")])
    assert parser.feed('1. search("x")\n2. math(1)\n') == [
        T(1, "search", '1. search("x")', "x"),
        T(2, "math", "2. math(1)", 1, error="unknown tool 'math' (available: search)"),
    ]


@pytest.mark.parametrize(
    "line",
    [
        "1. calc(" + "-" * 5000 + "1)",  # deep unary chain: RecursionError inside ast
        "1. calc(" + "not " * 3000 + "1)",
        '1. calc("$' + "9" * 5000 + '")',  # int() of more than 4300 digits
        '1. calc("a $' + "9" * 5000 + '")',
        "1. calc($" + "9" * 5000 + ")",
        "1. calc({[1]})",
        "1. calc(" + "[" * 300 + "]" * 300 + ")",
    ],
    ids=["unary-chain", "not-chain", "huge-ref", "huge-ref-in-text", "huge-bare-ref",
         "unhashable-set", "deep-nesting"],
)
def test_pathological_arguments_become_failed_tasks(line):
    (task,) = parse([line + "\n"])
    assert task.idx == 1 and task.tool == "calc"
    assert task.error.startswith("cannot parse the arguments of calc(")


def test_absurdly_long_id_is_not_a_task_line():
    assert parse(["9" * 5000 + '. search("x")\n1. search("y")\n']) == [
        T(1, "search", '1. search("y")', "y")
    ]


GARBAGE_TOKENS = [
    "1", "2", "3", "12", ". ", ".", "search", "math", "join", "fly", "(", ")", "[", "]",
    "{", "}", '"', "'", '"""', "'''", "\\", "$", "$1", "${2}", "$x", "#", ",", " ", "\n",
    "\r\n", "k=", "-", "true", "null", "Thought: ", END_OF_PLAN, "x", "0", ":", "+", "*",
    'f"', "\t", "<END_OF", "_PLAN>",
]
GARBAGE_CHARS = "1. search(\"$1 ([{ }])'\\\"#\n2345{}join:=-,"


def _garbage(rng):
    if rng.random() < 0.5:
        return "".join(rng.choice(GARBAGE_TOKENS) for _ in range(rng.randint(0, 60)))
    return "".join(rng.choice(GARBAGE_CHARS) for _ in range(rng.randint(0, 120)))


def test_random_garbage_never_raises_and_is_split_independent():
    rng = random.Random(20240229)
    for _ in range(400):
        text = _garbage(rng)
        whole = parse([text])
        assert all(isinstance(task, Task) for task in whole), text
        emitted = set()
        joined = False
        for task in whole:
            if task.error is None:
                # a valid task only depends on tasks emitted before it, and nothing
                # valid follows a valid join()
                assert set(task.deps) <= emitted, (text, task)
                assert not joined, (text, task)
                joined = task.is_join
            emitted.add(task.idx)
        cut = rng.randint(0, len(text))
        assert parse([text[:cut], text[cut:]]) == whole, (text, cut)
        assert parse(list(text)) == whole, text


# -- hostile input: bounded work, precise failures ---------------------------------------

import llmcompiler.plan.parser as parser_module  # noqa: E402
from llmcompiler.plan.parser import MAX_LINE_CHARS, MAX_NESTING  # noqa: E402

TOO_LONG = f"the line is longer than {MAX_LINE_CHARS:,} characters, the limit for one plan line"


def chunked(text, size):
    return [text[i : i + size] for i in range(0, len(text), size)]


@pytest.mark.parametrize("opener", ["[", "(", "{"])
@pytest.mark.parametrize("closed", [False, True], ids=["unclosed", "closed"])
def test_deep_nesting_is_a_failed_task_that_names_the_limit(opener, closed):
    depth = 100_000
    line = "1. calc(" + opener * depth + (_CLOSE[opener] * depth + ")" if closed else "")
    for chunks in ([line + "\n2. search('next')\n"], chunked(line + "\n2. search('next')\n", 4096)):
        first, second = parse(chunks)
        assert (first.idx, first.tool) == (1, "calc")
        assert first.error.startswith("cannot parse the arguments of calc(" + opener * 10)
        # the call is quoted from its name ("1. " left out), cut to its first 160 characters
        left_out = len(line) - len("1. ") - 160
        assert first.error.endswith(f"... ({left_out:,} more characters): brackets nested more than 100 deep")
        assert second == T(2, "search", "2. search('next')", "next")


_CLOSE = {"[": "]", "(": ")", "{": "}"}


def test_nesting_up_to_the_limit_is_fine():
    ok = "1. calc(" + "[" * MAX_NESTING + "]" * MAX_NESTING + ")"
    (task,) = parse([ok + "\n"])
    assert task.error is None
    value = task.args[0]
    for _ in range(MAX_NESTING - 1):
        (value,) = value
    assert value == []
    deeper = "1. calc(" + "[" * (MAX_NESTING + 1) + "]" * (MAX_NESTING + 1) + ")"
    (task,) = parse([deeper + "\n"])
    assert task.error.endswith(f"brackets nested more than {MAX_NESTING} deep")


@pytest.mark.parametrize(
    "body",
    ["-" * 100_000 + "1", "not " * 100_000 + "x", "2" + "**2" * 100_000, "lambda: " * 50_000 + "1",
     "1 if 1 else " * 50_000 + "1", "~" * 100_000 + "1"],
    ids=["minus", "not", "power", "lambda", "conditional", "invert"],
)
def test_long_operator_chains_are_failed_tasks_not_memory_errors(body):
    # CPython's parser raises MemoryError on these; feed() must not.
    (task,) = parse(["1. calc(" + body + ")\n"])
    assert task.error.startswith("cannot parse the arguments of calc(")
    assert task.error.endswith("the arguments are nested too deeply")
    assert len(task.error) < 300  # the 100 KB call is quoted only in part


class _Counting:
    """Counts the characters each scanner and head machine is handed, wrapped around them."""

    def __init__(self, monkeypatch):
        self.scanned = 0
        scanner_feed, head_feed = parser_module._CallScanner.feed, parser_module._Head.feed

        def count_scanner(scanner, piece, *, final):
            self.scanned += len(scanner.carry) + len(piece)
            return scanner_feed(scanner, piece, final=final)

        def count_head(head, piece, offset):
            self.scanned += len(piece)
            return head_feed(head, piece, offset)

        monkeypatch.setattr(parser_module._CallScanner, "feed", count_scanner)
        monkeypatch.setattr(parser_module._Head, "feed", count_head)


@pytest.mark.parametrize(
    "line, expected_error",
    [
        ('1. search("' + "a" * 100_000 + '")', None),
        ('1. search("' + "a" * 100_000, "unterminated string in the arguments"),
        ("1. search(" + "'''" + "\\'" * 50_000 + "''')", None),
        ("1" + " " * 100_000 + '. search("x")', None),
        ("1. " + "search" + " " * 100_000 + '("x")', None),
    ],
    ids=["long-string", "unterminated", "escapes-in-triple-quotes", "spaces-in-head", "spaces-before-paren"],
)
def test_a_long_line_in_one_character_chunks_is_read_once(monkeypatch, line, expected_error):
    whole = parse([line + "\n"])
    counting = _Counting(monkeypatch)
    tasks = parse(list(line + "\n"))
    assert [(t.idx, t.tool, t.error) for t in tasks] == [(1, "search", expected_error)]
    assert tasks == whole
    # every character is handed to a state machine at most three times (a lookahead keeps
    # one or two for the next chunk); rescanning the growing line per chunk, as the parser
    # once did, would be ~len(line)**2 / 2
    assert counting.scanned <= 3 * len(line)


def test_a_one_megabyte_argument_streamed_in_small_chunks():
    text = "x" * 1_000_000
    line = f'1. search("{text}")\n2. join()\n'
    for size in (7, 4096):
        first, second = parse(chunked(line, size))
        assert first == T(1, "search", f'1. search("{text}")', text)
        assert second.is_join


@pytest.mark.parametrize(
    "line, expected",
    [
        ("Thought: a" + " " * 1_000_000 + "b", None),
        ("1. a" + " " * 1_000_000 + "b", "not a tool call"),
        (" " * 1_000_000 + "1. search('x')", "search"),
        ("1. search('x'" + " " * 1_000_000 + ", k=2)", "search"),
    ],
    ids=["thought", "numbered-prose", "indent", "inside-the-call"],
)
def test_whitespace_runs(line, expected):
    # `\s*(.*?)\s*$` took ~1 s for 20,000 inner spaces and grows with their square
    for chunks in ([line + "\n"], chunked(line + "\n", 16)):
        tasks = parse([*chunks, "9. join()\n"])
        if expected is None:
            assert tasks[0].thought == "a" + " " * 1_000_000 + "b"
        elif expected == "not a tool call":
            assert tasks[0].error.startswith("not a tool call: 'a     ")
            assert tasks[0].error.endswith(" more characters)'")
        else:
            assert tasks[0].error is None and tasks[0].tool == "search" and tasks[0].args[0] == "x"


def test_a_line_over_the_limit_fails_when_the_limit_is_passed():
    head = '1. search("'
    line = head + "a" * MAX_LINE_CHARS + '")'
    parser = PlanParser(TOOLS)
    assert parser.feed(line[:MAX_LINE_CHARS]) == []
    (task,) = parser.feed(line[MAX_LINE_CHARS : MAX_LINE_CHARS + 1])  # before the line ends
    assert (task.idx, task.tool, task.error) == (1, "search", TOO_LONG)
    assert task.text.startswith(head + "aaa") and task.text.endswith(f"({MAX_LINE_CHARS - 160:,} more characters)")
    # the rest of the line is skipped; the next line is parsed as usual
    assert parser.feed(line[MAX_LINE_CHARS + 1 :] + '\n2. search("$1")\n') == [
        T(2, "search", '2. search("$1")', Ref(1), deps=(1,))
    ]
    assert parser.close() == []


def test_over_the_limit_the_same_tasks_whatever_the_chunking():
    line = "7. calc([" + "1, " * (MAX_LINE_CHARS // 3) + "2])"
    text = f"Thought: big\n{line}  {END_OF_PLAN}\n8. search('never')"
    whole = parse([text])
    assert [(t.idx, t.error, t.thought) for t in whole] == [(7, TOO_LONG, "big")]
    assert parse(chunked(text, 65_536)) == whole
    assert parse(chunked(text, 1_000_003)) == whole


def test_end_marker_in_the_skipped_part_of_a_long_line_ends_the_plan():
    line = '1. search("' + "a" * MAX_LINE_CHARS + f'"){END_OF_PLAN}'
    parser = PlanParser(TOOLS)
    tasks = []
    for chunk in chunked(line + '\n2. search("y")\n', 61):
        tasks += parser.feed(chunk)
    assert [t.error for t in tasks] == [TOO_LONG]
    assert parser.ended


def test_prose_over_the_limit_is_cut_at_the_limit():
    text = "Thought: " + "t" * MAX_LINE_CHARS + "\n1. search('x')\n"
    for chunks in ([text], chunked(text, 100_000)):
        (task,) = parse(chunks)
        assert task.error is None and task.thought == "t" * (MAX_LINE_CHARS - len("Thought: "))
