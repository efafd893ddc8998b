"""Few-shot examples of the ParallelQA suite for completion (non-chat) models such as LLaMA-2.

The prompt is flattened into one text that the model continues, so the examples are short,
all of one shape, and each ends with the same `###` line.
"""

PLANNER_EXAMPLES = """\
Question: If Lake Baikal lost 20% of its maximum depth and Lake Tanganyika gained 10% of its maximum depth, which lake would be deeper?
1. search("Lake Baikal")
2. search("Lake Tanganyika")
3. math("Lake Baikal's maximum depth reduced by 20%", context=["$1"])
4. math("Lake Tanganyika's maximum depth increased by 10%", context=["$2"])
5. join()<END_OF_PLAN>
###
Question: If Greenland shrank by 10%, New Guinea grew by 25% and Madagascar doubled in area, what would be their total area in square kilometres?
1. search("Greenland")
2. search("New Guinea")
3. search("Madagascar")
4. math("Greenland's area reduced by 10%", context=["$1"])
5. math("New Guinea's area increased by 25%", context=["$2"])
6. math("Madagascar's area multiplied by 2", context=["$3"])
7. math("sum of these three areas", context=["$4", "$5", "$6"])
8. join()<END_OF_PLAN>
###
Question: Which is larger, the diameter ratio of Earth to Mars or the diameter ratio of Neptune to Venus?
1. search("Earth")
2. search("Mars")
3. search("Neptune")
4. search("Venus")
5. math("ratio of Earth's diameter to Mars's diameter", context=["$1", "$2"])
6. math("ratio of Neptune's diameter to Venus's diameter", context=["$3", "$4"])
7. math("the larger of $5 and $6")
8. join()<END_OF_PLAN>
###"""

JOINER_EXAMPLES = """\
Question: If Lake Baikal lost 20% of its maximum depth and Lake Tanganyika gained 10% of its maximum depth, which lake would be deeper?

Plan and results:
1. search("Lake Baikal")
Observation: Lake Baikal is a rift lake in Siberia, Russia, with a maximum depth of 1,642 m.
2. search("Lake Tanganyika")
Observation: Lake Tanganyika is an African Great Lake with a maximum depth of 1,470 m.
3. math("Lake Baikal's maximum depth reduced by 20%", context=["$1"])
Observation: 1313.6
4. math("Lake Tanganyika's maximum depth increased by 10%", context=["$2"])
Observation: 1617
Thought: 1617 is more than 1313.6.
Action: Finish(Lake Tanganyika)
###
Question: If Greenland shrank by 10%, New Guinea grew by 25% and Madagascar doubled in area, what would be their total area in square kilometres?

Plan and results:
1. search("Greenland")
Observation: Greenland is the world's largest island, with an area of 2,166,086 km2.
2. search("New Guinea")
Observation: New Guinea is the world's second-largest island, with an area of 785,753 km2.
3. search("Madagascar")
Observation: Madagascar is an island country in the Indian Ocean with an area of 587,041 km2.
4. math("Greenland's area reduced by 10%", context=["$1"])
Observation: 1949477.4
5. math("New Guinea's area increased by 25%", context=["$2"])
Observation: 982191.25
6. math("Madagascar's area multiplied by 2", context=["$3"])
Observation: 1174082
7. math("sum of these three areas", context=["$4", "$5", "$6"])
Observation: 4105750.65
Thought: The total is 4105750.65.
Action: Finish(4105750.65)
###
Question: Which is larger, the diameter ratio of Earth to Mars or the diameter ratio of Neptune to Venus?

Plan and results:
1. search("Earth")
Observation: Earth is the third planet from the Sun, with a mean diameter of about 12,742 km.
2. search("Mars")
Observation: Mars is the fourth planet from the Sun, about 6,779 km in diameter.
3. search("Neptune")
Observation: ERROR: ToolTimeoutError: search timed out after 10s
4. search("Venus")
Observation: Venus is the second planet from the Sun, about 12,104 km in diameter.
5. math("ratio of Earth's diameter to Mars's diameter", context=["$1", "$2"])
Observation: 1.8796
6. math("ratio of Neptune's diameter to Venus's diameter", context=["$3", "$4"])
Observation: skipped: $3 failed
7. math("the larger of $5 and $6")
Observation: skipped: $6 failed
Thought: The diameter of Neptune is missing.
Action: Replan(search Neptune again, then compute the ratio of Neptune to Venus and compare it with $5)
###"""
