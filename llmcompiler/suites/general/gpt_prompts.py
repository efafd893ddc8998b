"""Few-shot examples of the general suite (planner and joiner)."""

PLANNER_EXAMPLES = """\
Question: How many years passed between the founding of the Bauhaus school and the completion of the Sydney Opera House?
Thought: Both dates are independent lookups; the subtraction needs both.
1. search("Bauhaus")
2. search("Sydney Opera House")
3. math("years between the founding of the first and the completion of the second", context=["$1", "$2"])
4. join()<END_OF_PLAN>
###
Question: Which river is longer, the Danube or the Mekong, and by how many kilometres?
1. search("Danube")
2. search("Mekong")
3. math("difference in length in kilometres between the two rivers", context=["$1", "$2"])
4. join()<END_OF_PLAN>
###
Question: Who wrote the novel Solaris?
1. search("Solaris (novel)")
2. join()<END_OF_PLAN>
###"""

JOINER_EXAMPLES = """\
Question: Who wrote the novel Solaris?

Plan and results:
1. search("Solaris (novel)")
Observation: Solaris is a 1961 science fiction novel by the Polish writer Stanisław Lem, about scientists studying a planet covered by a living ocean.
Thought: The page names Stanisław Lem as the author.
Action: Finish(Stanisław Lem)
###
Question: Which river is longer, the Danube or the Mekong, and by how many kilometres?

Plan and results:
1. search("Danube")
Observation: The Danube is the second-longest river in Europe, about 2,850 km long, flowing from Germany to the Black Sea.
2. search("Mekong")
Observation: ERROR: WikipediaError: Wikipedia API request for 'Mekong' failed: HTTP 503
3. math("difference in length in kilometres between the two rivers", context=["$1", "$2"])
Observation: skipped: $2 failed
Thought: The Mekong lookup failed, so the comparison is missing its second length.
Action: Replan(the Mekong search failed; its length is needed for the comparison)
###"""
