"""Few-shot examples of the ParallelQA suite for the ReAct baseline (one tool call per step).

ReAct sees each observation before the next step, so it hands math the figures it read
rather than `$N` references.
"""

REACT_EXAMPLES = """\
Question: If Lake Baikal lost 20% of its maximum depth and Lake Tanganyika gained 10% of its maximum depth, which lake would be deeper?
Thought: I need the maximum depth of Lake Baikal first.
Action: search("Lake Baikal")
Observation: Lake Baikal is a rift lake in southern Siberia, Russia. With a maximum depth of 1,642 m, it is the deepest lake in the world.
Thought: Lake Baikal is 1,642 m deep. Now the maximum depth of Lake Tanganyika.
Action: search("Lake Tanganyika")
Observation: Lake Tanganyika is an African Great Lake. With a maximum depth of 1,470 m, it is the second-deepest lake in the world.
Thought: Lake Tanganyika is 1,470 m deep. I compute Lake Baikal's new depth.
Action: math("Lake Baikal's maximum depth reduced by 20%", context=["Lake Baikal has a maximum depth of 1,642 m"])
Observation: 1313.6
Thought: Now Lake Tanganyika's new depth.
Action: math("Lake Tanganyika's maximum depth increased by 10%", context=["Lake Tanganyika has a maximum depth of 1,470 m"])
Observation: 1617
Thought: 1617 m is more than 1313.6 m, so Lake Tanganyika would be deeper.
Action: Finish(Lake Tanganyika)
###
Question: If Lake Superior grew by 5% and Lake Erie grew by 20%, what would be their combined surface area in square kilometres?
Thought: I need the surface area of Lake Superior.
Action: search("Lake Superior")
Observation: Lake Superior is the largest of the Great Lakes of North America, with a surface area of 82,100 km2.
Thought: Lake Superior covers 82,100 km2. Now Lake Erie.
Action: search("Lake Erie")
Observation: Lake Erie is the fourth-largest of the Great Lakes by surface area, 25,700 km2, and the shallowest of them.
Thought: Lake Erie covers 25,700 km2. I compute Lake Superior's new area.
Action: math("Lake Superior's surface area increased by 5%", context=["Lake Superior: 82,100 km2"])
Observation: 86205
Thought: Now Lake Erie's new area.
Action: math("Lake Erie's surface area increased by 20%", context=["Lake Erie: 25,700 km2"])
Observation: 30840
Thought: Finally, the sum of the two new areas.
Action: math("86205 plus 30840")
Observation: 117045
Thought: The combined surface area would be 117045 km2.
Action: Finish(117045)
###"""

REACT_LLAMA_EXAMPLES = """\
Question: If Lake Baikal lost 20% of its maximum depth and Lake Tanganyika gained 10% of its maximum depth, which lake would be deeper?
Thought: I need the maximum depth of Lake Baikal.
Action: search("Lake Baikal")
Observation: Lake Baikal is a rift lake in Siberia, Russia, with a maximum depth of 1,642 m.
Thought: I need the maximum depth of Lake Tanganyika.
Action: search("Lake Tanganyika")
Observation: Lake Tanganyika is an African Great Lake with a maximum depth of 1,470 m.
Thought: I need Lake Baikal's new depth.
Action: math("1,642 m reduced by 20%")
Observation: 1313.6
Thought: I need Lake Tanganyika's new depth.
Action: math("1,470 m increased by 10%")
Observation: 1617
Thought: 1617 is more than 1313.6.
Action: Finish(Lake Tanganyika)
###
Question: If Lake Superior grew by 5% and Lake Erie grew by 20%, what would be their combined surface area in square kilometres?
Thought: I need the surface area of Lake Superior.
Action: search("Lake Superior")
Observation: Lake Superior is the largest of the Great Lakes, with a surface area of 82,100 km2.
Thought: I need the surface area of Lake Erie.
Action: search("Lake Erie")
Observation: Lake Erie is one of the Great Lakes, with a surface area of 25,700 km2.
Thought: I need Lake Superior's new area.
Action: math("82,100 increased by 5%")
Observation: 86205
Thought: I need Lake Erie's new area.
Action: math("25,700 increased by 20%")
Observation: 30840
Thought: I need the sum of the new areas.
Action: math("86205 plus 30840")
Observation: 117045
Thought: The combined area is 117045.
Action: Finish(117045)
###"""
