"""Few-shot examples of the HotpotQA suite for completion (non-chat) models such as LLaMA-2.

The prompt is flattened into one text that the model continues, so the examples are short,
all of one shape, and each ends with the same `###` line.
"""

PLANNER_EXAMPLES = """\
Question: Were Frida Kahlo and Diego Rivera of the same nationality?
1. search("Frida Kahlo")
2. search("Diego Rivera")
3. join()<END_OF_PLAN>
###
Question: Which band was formed first, Radiohead or Portishead?
1. search("Radiohead")
2. search("Portishead (band)")
3. join()<END_OF_PLAN>
###
Question: Are Lake Bled and Lake Ohrid located in the same country?
1. search("Lake Bled")
2. search("Lake Ohrid")
3. join()<END_OF_PLAN>
###"""

JOINER_EXAMPLES = """\
Question: Were Frida Kahlo and Diego Rivera of the same nationality?

Plan and results:
1. search("Frida Kahlo")
Observation: Frida Kahlo (1907-1954) was a Mexican painter known for her self-portraits.
2. search("Diego Rivera")
Observation: Diego Rivera (1886-1957) was a Mexican painter known for his large murals.
Thought: Both painters were Mexican.
Action: Finish(yes)
###
Question: Which band was formed first, Radiohead or Portishead?

Plan and results:
1. search("Radiohead")
Observation: Radiohead is an English rock band formed in Abingdon, Oxfordshire, in 1985.
2. search("Portishead (band)")
Observation: Portishead is an English band formed in Bristol in 1991.
Thought: Radiohead formed in 1985, Portishead in 1991.
Action: Finish(Radiohead)
###
Question: Are Lake Bled and Lake Ohrid located in the same country?

Plan and results:
1. search("Lake Bled")
Observation: Lake Bled is a lake in the Julian Alps in northwestern Slovenia.
2. search("Lake Ohrid")
Observation: ERROR: ToolTimeoutError: search timed out after 10s
Thought: Lake Bled is in Slovenia; the country of Lake Ohrid is unknown.
Action: Replan(search Lake Ohrid again to find its country)
###"""
